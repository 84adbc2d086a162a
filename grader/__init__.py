"""The kit's autograder: runs the exercise suites against a submission and scores the report."""

__version__ = "0.1.0"
