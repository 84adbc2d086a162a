# sitecustomize.py (and usercustomize.py) at the top of the checkout: a Python started there
# without -I runs it first.
with open("/tmp/dlkit-attack-conftest_and_ini-sitecustomize", "w") as file:
    file.write("the submission's sitecustomize.py ran")
