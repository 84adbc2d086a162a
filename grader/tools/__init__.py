"""Helpers for a person at a terminal: `grade doctor` and the `grade matmul` lab table.

May import: `grader.kit`, `grader.grading`, `grader.sandbox`, `grader.authoring`.
"""
