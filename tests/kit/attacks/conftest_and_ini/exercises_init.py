# exercises/__init__.py of the checkout: a grader that imports exercises/ as a package runs it.
with open("/tmp/dlkit-attack-conftest_and_ini-init", "w") as file:
    file.write("the submission's exercises/__init__.py ran")
