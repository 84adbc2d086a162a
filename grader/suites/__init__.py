"""What the exercise suites run with: the pytest plugin (`impl`, `ref`), the checks whose
failures teach, and hints shared by public and hidden suites.

Runs inside the trusted pytest process. May import: `grader.kit`, `grader.sandbox`.
"""
