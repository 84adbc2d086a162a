# conftest.py at the top of the checkout: a pytest that loads it reports every test as passed,
# and leaves a marker file to show that it ran.
import pytest

MARKER = "/tmp/dlkit-attack-conftest_and_ini-conftest"


def pytest_configure(config):
    with open(MARKER, "w") as file:
        file.write("the submission's conftest.py was loaded")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome, report.longrepr = "passed", None
