"""Isolation backends: where the worker process lives and what it can see.

May import: `grader.kit`, `grader.sandbox.limits`, `grader.sandbox.errors`.
"""
