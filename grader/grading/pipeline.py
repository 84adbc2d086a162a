"""Grading one submission, the one way: `grade`, `grade batch` and the Gradescope autograder
all call `grade_submission`.

    staged submission --run_suites--> report --score_report--> Result (+ notes) -> Graded

A grading either ends in a `Graded` (a result and the flags an instructor should see, whatever
the score) or raises `GraderError`: the grader could not grade here (the sandbox did not start),
which is never the submission's fault and so never a score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.grading.manifest import MANIFEST, Manifest, load_manifest
from grader.grading.results import Result
from grader.grading.rubric import RUBRIC, Rubric, load_rubric
from grader.grading.runner import DEFAULT_TIMEOUT_S, Run, run_suites
from grader.grading.scoring import failure_kinds, score_report
from grader.grading.submission import Staged
from grader.kit import EXERCISES
from grader.sandbox.errors import SubmissionCrashed


class GraderError(Exception):
    """The grader cannot grade on this machine (the sandbox cannot start); one line, with the
    fix where one is known. Never turned into a score."""


@dataclass(frozen=True)
class Setup:
    """What a submission is graded against, and how.

    `limits` are the sandbox's `NAME=VALUE` changes; `details` keeps each failure's traceback
    (for `grade -v` and Gradescope; without it a failure is its one line, cheaper to report).
    `alone`: one submission has the machine (`grade`, Gradescope: two pytest children where there
    are two cores); in a batch, one core each. `zygote`: the socket of a batch's zygote, which
    forks the sandboxes with NumPy and PyTorch imported (grader/sandbox/zygote.py).
    `isolation`: where the worker runs (grader/sandbox/isolation; `auto`: the strongest here).
    """

    kit: Path
    manifest: Manifest
    rubric: Rubric
    timeout: float = DEFAULT_TIMEOUT_S
    limits: tuple[str, ...] = ()
    details: bool = False
    alone: bool = True
    zygote: Path | None = None
    isolation: str = "auto"


def load_setup(
    kit: Path,
    timeout: float = DEFAULT_TIMEOUT_S,
    limits: Sequence[str] = (),
    details: bool = False,
    isolation: str = "auto",
) -> Setup:
    """The kit's manifest (of the suites present) and rubric; ManifestError/RubricError if bad."""
    return Setup(kit, load_manifest(kit / MANIFEST).present_in(kit), load_rubric(kit / RUBRIC),
                 timeout, tuple(limits), details, isolation=isolation)


@dataclass
class Graded:
    """A finished grading: the result, and flags worth an instructor's look (gradebook.csv)."""

    result: Result
    flags: list[str]


def grade_submission(
    setup: Setup, staged: Staged, exercises: Sequence[str] = EXERCISES, verbose: bool = False
) -> Graded:
    """Run the suites of `exercises` on a staged submission and score them against `setup`.

    `verbose`: a run that ended abnormally notes pytest's own output too. Raises GraderError
    when the sandbox could not start (then no test says anything about the submission).
    """
    run = run_suites(setup.kit, staged.folder, exercises, setup.timeout, setup.details,
                     setup.limits, split=setup.alone, zygote=setup.zygote,
                     forked=not setup.alone, isolation=setup.isolation)
    error = run.report.get("sandbox", {}).get("error")
    if error:
        raise GraderError(first_line(error))
    result = score_report(run.report, setup.manifest, setup.rubric, exercises)
    result.record_uses(staged.uses)
    result.isolation = run.report.get("sandbox", {}).get("isolation", "")
    result.notes += [*staged.notes, *run_notes(run, setup.timeout, verbose)]
    return Graded(result, outcome_flags(run, result))


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def run_notes(run: Run, timeout: float, verbose: bool = False) -> list[str]:
    """Lines on how the test run ended, when that explains lost points."""
    if run.timed_out:
        return [f"The test run hit its time limit ({timeout:g} s): unfinished tests score 0."]
    if not any(code not in (0, 1) for code in run.exit_codes):
        return []
    codes = ", ".join(map(str, run.exit_codes))
    if not verbose:
        return [f"The test run ended abnormally (pytest exit status {codes}); "
                "grade -v shows its output."]
    return [f"The test run ended abnormally (pytest exit status {codes}); its output:",
            *("  " + line for line in run.output.splitlines())]


def outcome_flags(run: Run, result: Result) -> list[str]:
    """Flags of a run worth an instructor's look.

    timeout: a call or the whole run ran out of time. crashed: the submission's process died
    during a test or its import (the failure's kind in the report says so), or pytest itself
    ended abnormally.
    """
    flags = []
    if run.timed_out or any(t.outcome == "timeout" for t in result.tests):
        flags.append("timeout")
    abnormal_exit = not run.timed_out and any(code not in (0, 1) for code in run.exit_codes)
    kinds = failure_kinds(run.report)
    if abnormal_exit or any(kinds.get(t.id) == SubmissionCrashed.kind for t in result.tests):
        flags.append("crashed")
    return flags
