"""The `grade` command: one command, one function; the work lives in the grader's modules.

    grade                       grade this checkout's exercises/ with every suite present
    grade --submission PATH     grade a submission (checkout, folder, .zip, .ipynb)
    grade --reference           grade the reference solutions (must be full marks)
    grade report REPORT.json    score a pytest-json-report file
    grade doctor | stubs | manifest

Exit status: 0 when grading ran, whatever the score; 2 for a bad call or an unreadable
submission, with one line saying why. Modules are imported inside the commands, so that
`grade report` never pays for NumPy, PyTorch or pytest.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from grader import __version__
from grader.batch_cli import (
    batch_command,
    gradescope_bundle_command,
    merge_command,
    summary_command,
)
from grader.kit import EXERCISES, kit_root
from grader.release_cli import notebooks, release

if TYPE_CHECKING:
    from grader.manifest import Manifest
    from grader.results import Result
    from grader.rubric import Rubric
    from grader.runner import Run
    from grader.submission import Staged


class BadCall(click.ClickException):
    """A call grade cannot carry out: one line, exit status 2."""

    exit_code = 2


@contextmanager
def one_line_usage_errors() -> Iterator[None]:
    """Click's usage errors print the usage too; the contract wants one line."""
    try:
        yield
    except click.UsageError as err:
        raise BadCall(f"{err.format_message()} (grade --help lists the options)") from None


class GradeGroup(click.Group):
    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with one_line_usage_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with one_line_usage_errors():
            return super().invoke(ctx)


def output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options shared by everything that prints a result."""
    for option in reversed([
        click.option("--exercise", "exercises", multiple=True, type=click.Choice(EXERCISES),
                     metavar="NAME",
                     help=f"Only this exercise (repeatable): {', '.join(EXERCISES)}."),
        click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
                     help="Also write the result as JSON to this file."),
        click.option("--gradescope", "gradescope_path",
                     type=click.Path(dir_okay=False, path_type=Path),
                     help="Also write Gradescope's results.json to this file."),
        click.option("-v", "--verbose", is_flag=True,
                     help="Show every failing test's full report."),
    ]):
        command = option(command)
    return command


@click.group(cls=GradeGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--submission", type=click.Path(path_type=Path),
              help="Grade this submission: a checkout, a folder of exercise files, a .zip "
              "of either, or a .ipynb.")
@click.option("--reference", is_flag=True, help="Grade the reference solutions (instructors).")
@click.option("--timeout", type=click.FloatRange(min=1), default=300, show_default=True,
              help="Seconds the whole test run may take; unfinished tests score 0.")
@click.option("--limit", "limits", multiple=True, metavar="NAME=VALUE",
              help="Change a limit of the sandbox the submission runs in, e.g. "
              "call_timeout_s=5 or memory_bytes=1G (repeatable; names in grader/limits.py).")
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
    from grader.runner import run_suites
    from grader.scoring import score_report

    check_limits(limits)
    kit = kit_root()
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
    result.seconds = time.monotonic() - started
    result.notes += [*staged.notes, *run_notes(run, timeout, verbose),
                     *student_notes(kit, manifest, rubric, selected)]
    emit(result, verbose, json_path, gradescope_path)


def check_limits(limits: tuple[str, ...]) -> None:
    """Refuse a bad `--limit` here, in one line, rather than in every test of the run."""
    from grader.limits import limits_from_settings

    try:
        limits_from_settings(list(limits))
    except ValueError as err:
        raise BadCall(f"--limit: {err}") from None


def submission_source(kit: Path, submission: Path | None, reference: bool) -> tuple[Path, str]:
    """What to grade, and how to name it."""
    if submission is not None and reference:
        raise BadCall("give --submission or --reference, not both")
    if reference:
        if not (kit / "solutions").is_dir():
            raise BadCall("this copy of the kit has no solutions/: --reference is for instructors")
        return kit / "solutions", "the reference solutions"
    if submission is not None:
        return submission, str(submission)
    here = Path.cwd()
    if not (here / "exercises").is_dir():
        raise BadCall("no exercises/ here: run grade in your checkout, or pass --submission PATH")
    return here, "this checkout"


def stage(source: Path, dest: Path) -> Staged:
    from grader.submission import SubmissionError, stage_submission

    try:
        return stage_submission(source, dest)
    except SubmissionError as err:
        raise BadCall(str(err)) from None


def scoring_inputs(kit: Path) -> tuple[Manifest, Rubric]:
    """The manifest of the suites present in the kit, and the rubric."""
    from grader.manifest import MANIFEST, ManifestError, load_manifest
    from grader.rubric import RUBRIC, RubricError, load_rubric

    try:
        return load_manifest(kit / MANIFEST).present_in(kit), load_rubric(kit / RUBRIC)
    except (ManifestError, RubricError) as err:
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

    from grader.scoring import max_scores

    hidden = [t for t in manifest.left_out if t.visibility == "hidden" and t.exercise in selected]
    worth = fsum(max_scores(hidden, manifest, rubric))
    return [
        "This copy has no hidden tests: your instructor runs them when grading"
        + (f" (worth {worth:.2f} more points)." if worth else ".")
    ]


def emit(
    result: Result, verbose: bool, json_path: Path | None, gradescope_path: Path | None
) -> None:
    """Print the table; write the JSON files asked for."""
    from grader.formats import gradescope_json, result_json, text_report

    click.echo(text_report(result, verbose))
    for path, data in ((json_path, result_json), (gradescope_path, gradescope_json)):
        if path is not None:
            write_json(path, data(result))


def write_json(path: Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n")
    except OSError as err:
        raise BadCall(f"cannot write {path}: {err.strerror}") from None


@main.command()
@click.argument("report_path", metavar="REPORT.json", type=click.Path(path_type=Path))
@output_options
def report(
    report_path: Path,
    exercises: tuple[str, ...],
    json_path: Path | None,
    gradescope_path: Path | None,
    verbose: bool,
) -> None:
    """Score an existing pytest-json-report file with the manifest and the rubric."""
    from grader.scoring import ReportError, score_report

    kit = kit_root()
    try:
        data = json.loads(report_path.read_text())
    except OSError as err:
        raise BadCall(f"cannot read {report_path}: {err.strerror}") from None
    except ValueError:
        raise BadCall(f"{report_path} is not JSON: give the file of pytest --json-report") from None
    manifest, rubric = scoring_inputs(kit)
    try:
        result = score_report(data, manifest, rubric, exercises or None)
    except ReportError as err:
        raise BadCall(f"{report_path}: {err}") from None
    duration = data.get("duration")
    result.seconds = float(duration) if isinstance(duration, int | float) else 0.0
    emit(result, verbose, json_path, gradescope_path)


@main.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check this machine and this copy of the kit; say how to fix each problem."""
    from grader.doctor import run_checks

    checks = run_checks(kit_root())
    for check in checks:
        status = click.style("ok", fg="green") if check.ok else click.style("PROBLEM", fg="red")
        padding = " " * (8 - len(click.unstyle(status)))
        click.echo(f"{status}{padding}{check.name:<19} {check.detail}")
        if check.fix:
            click.echo(f"{'':8}{'fix:':<19} {check.fix}")
    if not all(c.ok for c in checks):
        ctx.exit(1)


@main.command()
@click.option("--check", is_flag=True, help="Only say whether exercises/ is stale (exit 1 if so).")
@click.pass_context
def stubs(ctx: click.Context, check: bool) -> None:
    """Regenerate exercises/ from solutions/ (instructors)."""
    from grader.stubs import FenceError, stale_stubs, write_stubs

    kit = kit_root()
    if not (kit / "solutions").is_dir():
        raise BadCall("this copy of the kit has no solutions/: stubs are made by instructors")
    try:
        if check:
            stale = stale_stubs(kit / "solutions", kit / "exercises")
            click.echo(f"stale stubs: {', '.join(stale)}: run `grade stubs`" if stale
                       else "stubs are up to date")
            ctx.exit(1 if stale else 0)
        changed = write_stubs(kit / "solutions", kit / "exercises")
    except FenceError as err:
        raise BadCall(str(err)) from None
    click.echo(f"rewrote {', '.join(changed)}" if changed else "stubs are up to date")


@main.command()
@click.option("--check", is_flag=True,
              help="Only say whether tests/manifest.json is stale (exit 1 if so).")
@click.pass_context
def manifest(ctx: click.Context, check: bool) -> None:
    """Regenerate tests/manifest.json from the suites (instructors, after editing tests)."""
    from grader.manifest import MANIFEST, ManifestError, manifest_is_stale, write_manifest

    kit = kit_root()
    try:
        if check:
            stale = manifest_is_stale(kit)
            click.echo(f"{MANIFEST} is stale: run `grade manifest`" if stale
                       else f"{MANIFEST} is up to date")
            ctx.exit(1 if stale else 0)
        write_manifest(kit, kit / MANIFEST)
    except ManifestError as err:
        raise BadCall(str(err)) from None
    click.echo(f"wrote {MANIFEST}")


def parse_sizes(ctx: click.Context, param: click.Parameter, value: str) -> list[int]:
    try:
        sizes = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(
            "give sizes as integers separated by commas, e.g. 64,256,1024"
        ) from None
    if not sizes or min(sizes) < 1:
        raise click.BadParameter("give at least one size, each 1 or more")
    return sizes


@main.command()
@click.option("--sizes", default="64,128,256,512,1024", show_default=True, callback=parse_sizes,
              help="Matrix sizes n of the (n, n) @ (n, n) products, comma-separated.")
@click.option("--naive-max", default=128, show_default=True,
              help="Largest n for the naive Python loops (about a second at 128).")
@click.option("--reference", is_flag=True, help="Time with the reference solution (instructors).")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path),
              help="Also save TFLOP/s against n as a PNG (needs matplotlib).")
def matmul(sizes: list[int], naive_max: int, reference: bool, plot_path: Path | None) -> None:
    """Why GPUs matter: time matrix products in naive Python, NumPy, torch (CPU, and CUDA where
    present) with your own time_it and benchmark_matmul, and print seconds and TFLOP/s.

    This runs your exercises/matmul.py in this process: it is a lab, not a grading.
    """
    from grader.loading import ExerciseImportError, load_exercise
    from grader.matmul_table import PlotUnavailable, format_table, run_table, save_plot

    kit = kit_root()
    folder = kit / ("solutions" if reference else "exercises")
    if reference and not folder.is_dir():
        raise BadCall("this copy of the kit has no solutions/: --reference is for instructors")
    try:
        rows = run_table(load_exercise(folder, "matmul"), sizes, naive_max)
    except ExerciseImportError as err:
        raise BadCall(str(err)) from None
    except NotImplementedError as err:
        raise BadCall(f"{err}: write it in exercises/matmul.py first") from None
    click.echo(format_table(rows))
    if plot_path is not None:
        try:
            save_plot(rows, plot_path)
        except PlotUnavailable as err:
            raise BadCall(str(err)) from None
        click.echo(f"saved the plot to {plot_path}")


for command in (batch_command, merge_command, summary_command, gradescope_bundle_command,
                notebooks, release):
    main.add_command(command)


if __name__ == "__main__":
    main()
