"""What grading produces: one record per test, one per exercise, and the whole result.

These are plain data. `grader.grading.scoring` builds them from a pytest-json-report file;
`grader.grading.formats` turns them into the text table, the result JSON and Gradescope's
results.json.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

# A test's outcome, as the contract's result JSON spells it.
OUTCOMES: tuple[str, ...] = ("passed", "failed", "error", "timeout", "skipped")


@dataclass(frozen=True)
class GradedTest:
    """One test of the manifest, scored.

    `message` is the one line a student reads (the test's teaching message); `details` is the
    full failure report (pytest's longrepr), shown with `grade -v`; `output` is what the
    submission printed during a test that did not pass (its head), also for `grade -v`. The
    last two hold the submission's text as it came: untrusted, to be made printable when shown.
    """

    id: str
    exercise: str
    visibility: str
    outcome: str
    score: float
    max_score: float
    message: str = ""
    details: str = ""
    output: str = ""


@dataclass(frozen=True)
class GradedExercise:
    """One exercise's points. `uses`: the other exercises the submission's file of this one
    uses (imports), in teaching order; their failures may be the cause of this one's."""

    name: str
    score: float
    max_score: float
    uses: tuple[str, ...] = ()


@dataclass
class Result:
    """A graded submission: totals, exercises in teaching order, tests in manifest order.

    `seconds` is how long grading took; `notes` are lines for the reader that are not scores
    (hidden tests absent, the run hit its time limit, ...); `isolation` the sandbox's mode that
    ran the submission ("" when no sandbox did: a report scored by `grade report`).
    """

    score: float
    max_score: float
    exercises: list[GradedExercise]
    tests: list[GradedTest]
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    isolation: str = ""

    def tests_of(self, exercise: str) -> list[GradedTest]:
        return [t for t in self.tests if t.exercise == exercise]

    def record_uses(self, uses: Mapping[str, Sequence[str]]) -> None:
        """Set each exercise's `uses` from exercise -> the exercises its file uses (a staged
        submission's `uses`); an exercise not named uses none."""
        self.exercises = [replace(e, uses=tuple(uses.get(e.name, ()))) for e in self.exercises]
