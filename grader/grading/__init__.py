"""Grading one submission: staging, running the suites, scoring, the result and its formats.

`pipeline.grade_submission` is the one way a submission is graded (by `grade`, `grade batch`
and the Gradescope autograder). Scoring is pure: a report, the manifest and the rubric give a
`Result`. May import: `grader.kit`, `grader.sandbox` (limits, isolation modes). Never `cli`,
`cohort` or `authoring`.
"""
