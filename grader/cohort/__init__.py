"""Grading many submissions: batch runs, the gradebook, shards, progress, the Gradescope bundle.

May import: `grader.kit`, `grader.grading`, `grader.sandbox`. Never `cli`.
"""
