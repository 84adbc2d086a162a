"""What instructors generate from the solutions: stubs, notebooks, the capstone, the release.

May import: `grader.kit`, `grader.grading` (manifest, rubric, submission). Never `cli` or `cohort`.
"""
