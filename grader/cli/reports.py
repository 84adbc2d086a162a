"""`grade report`: score a pytest-json-report file that a pipeline wrote itself."""

from __future__ import annotations

import json
from pathlib import Path

import click

from grader.cli.common import BadCall, emit, kit_folder, output_options, scoring_inputs


@click.command()
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
    from grader.grading.scoring import ReportError, score_report

    kit = kit_folder()
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


COMMANDS = (report,)
