"""What the `grade` commands share: the one-line error, shared options, and the kit's inputs.

Every command module imports from here; nothing here imports a command module.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from grader.kit import EXERCISES, kit_root

if TYPE_CHECKING:
    from grader.grading.manifest import Manifest
    from grader.grading.results import Result
    from grader.grading.rubric import Rubric


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


def kit_folder() -> Path:
    """The kit the running command works on: this one, unless the caller handed another as the
    context's object (`CliRunner().invoke(main, args, obj=copy)`, as the kit's tests do)."""
    given = click.get_current_context().find_root().obj
    return given if isinstance(given, Path) else kit_root()


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


def check_limits(ctx: click.Context, param: click.Parameter,
                 value: tuple[str, ...]) -> tuple[str, ...]:
    """Refuse a bad `--limit` at once, in one line, rather than in every test of the run."""
    from grader.sandbox.limits import limits_from_settings

    try:
        limits_from_settings(list(value))
    except ValueError as err:
        raise BadCall(f"--limit: {err}") from None
    return value


def limit_option(whose: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--limit NAME=VALUE` (repeatable), checked before any grading starts."""
    return click.option(
        "--limit", "limits", multiple=True, metavar="NAME=VALUE", callback=check_limits,
        help=f"Change a limit of the sandbox {whose} runs in, e.g. call_timeout_s=5 or "
        "memory_bytes=1G (repeatable; names in grader/sandbox/limits.py).")


def timeout_option(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--timeout SECONDS` for a whole test run."""
    return click.option(
        "--timeout", type=click.FloatRange(min=1), default=300, show_default=True,
        help=f"Seconds {what} may take; unfinished tests score 0.")


def check_isolation(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Refuse a mode this machine cannot give, in one line, before anything is graded."""
    from grader.sandbox.isolation import unavailable

    why = unavailable(value)
    if why is not None:
        raise BadCall(why)
    return value


def isolation_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--isolation MODE`: where the submission's code runs (docs/security.md)."""
    from grader.sandbox.isolation import MODES

    return click.option(
        "--isolation", type=click.Choice(("auto", *MODES)), default="auto", show_default=True,
        callback=check_isolation,
        help="Where the submission runs: auto picks the strongest mode this machine allows "
        "(docs/security.md says what each guarantees).")(command)


def require_solutions(kit: Path, why: str) -> None:
    """Refuse an instructor's command in a student's copy (which has no solutions/)."""
    if not (kit / "solutions").is_dir():
        raise BadCall(f"this copy of the kit has no solutions/: {why}")


def scoring_inputs(kit: Path) -> tuple[Manifest, Rubric]:
    """The manifest of the suites present in the kit, and the rubric."""
    from grader.grading.manifest import MANIFEST, ManifestError, load_manifest
    from grader.grading.rubric import RUBRIC, RubricError, load_rubric

    try:
        return load_manifest(kit / MANIFEST).present_in(kit), load_rubric(kit / RUBRIC)
    except (ManifestError, RubricError) as err:
        raise BadCall(str(err)) from None


def emit(
    result: Result, verbose: bool, json_path: Path | None, gradescope_path: Path | None
) -> None:
    """Print the table; write the JSON files asked for."""
    from grader.grading.formats import gradescope_json, result_json, text_report

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
