"""The instructor's commands at scale: `grade batch`, `merge`, `summary`, `gradescope-bundle`.

Their work lives in grader/cohort/.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from grader.cli.common import BadCall, isolation_option, kit_folder, limit_option, timeout_option
from grader.cohort.gradescope_bundle import TORCH_CPU_INDEX
from grader.cohort.shards import Shard


def parse_shard_option(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> Shard | None:
    from grader.cohort.shards import ShardError, parse_shard

    if value is None:
        return None
    try:
        return parse_shard(value)
    except ShardError as err:
        raise click.BadParameter(str(err), ctx, param) from None


@click.command("batch")
@click.argument("folder", metavar="DIR",
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The gradebook CSV to write; students/<id>/ folders go next to it.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Submissions graded at once (default: the number of cores).")
@click.option("--force", is_flag=True, help="Regrade every submission, changed or not.")
@click.option("--shard", callback=parse_shard_option, metavar="K/N",
              help="Grade only the K-th of N slices (for a CI matrix; then `grade merge`).")
@timeout_option("one submission's test run")
@limit_option("each submission")
@isolation_option
@click.pass_context
def batch_command(
    ctx: click.Context,
    folder: Path,
    out: Path,
    jobs: int | None,
    force: bool,
    shard: Shard | None,
    timeout: float,
    limits: tuple[str, ...],
    isolation: str,
) -> None:
    """Grade every submission in DIR into a gradebook.

    One submission per entry of DIR (a folder, .zip or .ipynb); the entry's name, less its
    suffix, is the student id. Re-running grades only what changed.
    """
    from grader.cohort.batch import BatchError, run_batch, students_folder
    from grader.grading.manifest import ManifestError
    from grader.grading.rubric import RubricError

    try:
        report = run_batch(folder, out, jobs=jobs, force=force, shard=shard, timeout=timeout,
                           limits=limits, isolation=isolation)
    except (BatchError, ManifestError, RubricError) as err:
        raise BadCall(str(err)) from None
    click.echo(
        f"{out}: {len(report.rows)} students ({len(report.graded)} graded, "
        f"{len(report.kept)} unchanged, {len(report.refused)} refused); "
        f"results and feedback in {students_folder(out)}/"
    )
    if report.interrupted:
        click.echo("interrupted: run the same command again to grade the rest", err=True)
        ctx.exit(130)
    if report.grader_errors:
        click.echo(f"not graded (grader-error, no points written): "
                   f"{', '.join(report.grader_errors)}; their feedback.txt says why: fix that, "
                   "then run the same command again to grade them", err=True)
        ctx.exit(2)


@click.command("merge")
@click.argument("shards", metavar="SHARD.csv...", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The merged gradebook CSV to write.")
def merge_command(shards: tuple[Path, ...], out: Path) -> None:
    """Combine the gradebooks of shards into one.

    The shards are the gradebooks of `grade batch --shard K/N`, K = 1..N.
    """
    from grader.cohort.gradebook import (
        GradebookError,
        merge_gradebooks,
        read_gradebook,
        write_gradebook,
    )

    try:
        rows = merge_gradebooks([(str(path), read_gradebook(path)) for path in shards])
    except GradebookError as err:
        raise BadCall(str(err)) from None
    write_gradebook(rows, out)
    click.echo(f"{out}: {len(rows)} students from {len(shards)} gradebooks")


def read_results(students: Path, names: list[str]) -> list[dict]:
    """The students' result JSONs that exist (a merged CI gradebook may come without them)."""
    results = []
    for name in names:
        try:
            results.append(json.loads((students / name / "result.json").read_text()))
        except (OSError, ValueError):
            continue
    return results


@click.command("summary")
@click.argument("gradebook", metavar="GRADEBOOK.csv",
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--students", "students", type=click.Path(file_okay=False, path_type=Path),
              help="The students/ folder of result JSONs (default: next to the gradebook).")
@click.option("--png", type=click.Path(dir_okay=False, path_type=Path),
              help="Also draw the distribution of totals to this PNG (needs matplotlib).")
def summary_command(gradebook: Path, students: Path | None, png: Path | None) -> None:
    """Summarise a gradebook for the instructor.

    Mean points per exercise, the distribution of totals, flags, and the tests most often
    failed (from the students' result.json files).
    """
    from grader.cohort.batch import students_folder
    from grader.cohort.gradebook import (
        GradebookError,
        format_summary,
        read_gradebook,
        summarize,
        write_histogram_png,
    )
    from grader.grading.rubric import RUBRIC, RubricError, load_rubric

    try:
        rows = read_gradebook(gradebook)
    except GradebookError as err:
        raise BadCall(str(err)) from None
    try:
        exercise_max = dict(load_rubric(kit_folder() / RUBRIC).points)
    except RubricError:
        exercise_max = {}
    folder = students or students_folder(gradebook)
    summary = summarize(rows, read_results(folder, [r.student for r in rows]), exercise_max)
    click.echo(format_summary(summary), nl=False)
    if png is not None:
        try:
            write_histogram_png(summary, png)
        except ImportError:
            raise BadCall("--png needs matplotlib: pip install 'dlkit[plot]'") from None
        click.echo(f"wrote {png}")


@click.command("gradescope-bundle")
@click.argument("out", metavar="OUT.zip", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--torch-index", metavar="URL", envvar="KIT_TORCH_INDEX",
              default=TORCH_CPU_INDEX, show_default=True,
              help="The index of PyTorch's CPU-only wheels from which setup.sh installs torch "
              "(Gradescope has no GPU), e.g. a mirror of it; $KIT_TORCH_INDEX sets it too.")
def gradescope_bundle_command(out: Path, torch_index: str) -> None:
    """Build a Gradescope autograder zip.

    It holds setup.sh (installs the kit, torch in its CPU build), constraints.txt (the version
    of each package installed here, which setup.sh installs), run_autograder (grades
    /autograder/submission into /autograder/results/results.json) and the kit itself.
    """
    from grader.cohort.gradescope_bundle import BundleError, build_bundle

    try:
        names = build_bundle(kit_folder(), out, torch_index)
    except BundleError as err:
        raise BadCall(str(err)) from None
    click.echo(f"wrote {out} ({len(names)} files): upload it as the assignment's autograder")


COMMANDS = (batch_command, merge_command, summary_command, gradescope_bundle_command)
