"""`grade`: grade this checkout, a submission or the reference, and print the points.

    grade                       grade this checkout's exercises/ with every suite present
    grade --submission PATH     grade a submission (checkout, folder, .zip, .ipynb)
    grade --reference           grade the reference solutions (must be full marks)

The group's other commands are added by grader/cli/__init__.py. Exit status: 0 when grading
ran, whatever the score; 2 for a bad call or an unreadable submission, with one line saying why.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from grader import __version__
from grader.cli.common import (
    BadCall,
    GradeGroup,
    emit,
    kit_folder,
    limit_option,
    output_options,
    require_solutions,
    scoring_inputs,
    timeout_option,
)
from grader.kit import EXERCISES

if TYPE_CHECKING:
    from grader.grading.manifest import Manifest
    from grader.grading.rubric import Rubric
    from grader.grading.runner import Run
    from grader.grading.submission import Staged


@click.group(cls=GradeGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--submission", type=click.Path(path_type=Path),
              help="Grade this submission: a checkout, a folder of exercise files, a .zip "
              "of either, or a .ipynb.")
@click.option("--reference", is_flag=True, help="Grade the reference solutions (instructors).")
@timeout_option("the whole test run")
@limit_option("the submission")
@output_options
@click.version_option(__version__, prog_name="grade")
@click.pass_context
def main(
    ctx: click.Context,
    submission: Path | None,
    reference: bool,
    timeout: float,
    limits: tuple[str, ...],
    exercises: tuple[str, ...],
    json_path: Path | None,
    gradescope_path: Path | None,
    verbose: bool,
) -> None:
    """Grade the exercises of this checkout (or of a submission) and print the points."""
    if ctx.invoked_subcommand is not None:
        given = [name for name, value in ctx.params.items()
                 if value and ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE]
        if given:
            raise BadCall(f"put options after the subcommand: grade {ctx.invoked_subcommand} ...")
        return
    from grader.grading.runner import run_suites
    from grader.grading.scoring import score_report

    kit = kit_folder()
    source, label = submission_source(kit, submission, reference)
    manifest, rubric = scoring_inputs(kit)
    selected = tuple(e for e in EXERCISES if e in exercises) or EXERCISES
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        staged = stage(source, Path(tmp) / "submission")
        click.echo(f"Grading {label}..." if submission is None else
                   f"Grading {label} ({staged.kind})...")
        run = run_suites(kit, staged.folder, selected, timeout,
                         details=verbose or gradescope_path is not None, limits=limits)
    result = score_report(run.report, manifest, rubric, selected)
    result.record_uses(staged.uses)
    result.seconds = time.monotonic() - started
    result.notes += [*staged.notes, *run_notes(run, timeout, verbose),
                     *student_notes(kit, manifest, rubric, selected)]
    emit(result, verbose, json_path, gradescope_path)


def submission_source(kit: Path, submission: Path | None, reference: bool) -> tuple[Path, str]:
    """What to grade, and how to name it."""
    if submission is not None and reference:
        raise BadCall("give --submission or --reference, not both")
    if reference:
        require_solutions(kit, "--reference is for instructors")
        return kit / "solutions", "the reference solutions"
    if submission is not None:
        return submission, str(submission)
    here = Path.cwd()
    if not (here / "exercises").is_dir():
        raise BadCall("no exercises/ here: run grade in your checkout, or pass --submission PATH")
    return here, "this checkout"


def stage(source: Path, dest: Path) -> Staged:
    from grader.grading.submission import SubmissionError, stage_submission

    try:
        return stage_submission(source, dest)
    except SubmissionError as err:
        raise BadCall(str(err)) from None


def run_notes(run: Run, timeout: float, verbose: bool) -> list[str]:
    """Lines on how the test run ended, when that explains lost points."""
    notes = []
    if run.timed_out:
        notes.append(f"The test run hit its time limit ({timeout:g} s): unfinished tests score 0.")
    elif any(code not in (0, 1) for code in run.exit_codes):
        codes = ", ".join(map(str, run.exit_codes))
        notes.append(f"The test run ended abnormally (pytest exit status {codes})"
                     + ("; its output:" if verbose else "; grade -v shows its output."))
        if verbose:
            notes += ["  " + line for line in run.output.splitlines()]
    return notes


def student_notes(
    kit: Path, manifest: Manifest, rubric: Rubric, selected: Sequence[str]
) -> list[str]:
    """In a student's copy (no tests/hidden), say who runs the hidden tests."""
    if (kit / "tests" / "hidden").is_dir():
        return []
    from math import fsum

    from grader.grading.scoring import max_scores

    hidden = [t for t in manifest.left_out if t.visibility == "hidden" and t.exercise in selected]
    worth = fsum(max_scores(hidden, manifest, rubric))
    return [
        "This copy has no hidden tests: your instructor runs them when grading"
        + (f" (worth {worth:.2f} more points)." if worth else ".")
    ]
