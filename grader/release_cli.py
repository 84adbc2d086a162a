"""`grade notebooks` and `grade release`: the instructor's commands that make what students get.

Registered on the `grade` group in grader/cli.py. Both need the full kit (solutions/): in a
student's copy they say so in one line.
"""

from __future__ import annotations

from pathlib import Path

import click

from grader.kit import kit_root


def bad_call(message: str) -> click.ClickException:
    """grade's one-line error with exit status 2 (imported late: grader.cli imports us)."""
    from grader.cli import BadCall

    return BadCall(message)


def require_solutions(kit: Path, what: str) -> None:
    if not (kit / "solutions").is_dir():
        raise bad_call(f"this copy of the kit has no solutions/: {what} are made by instructors")


@click.command()
@click.option("--check", is_flag=True,
              help="Only say whether notebooks/ is stale (exit 1 if so).")
@click.pass_context
def notebooks(ctx: click.Context, check: bool) -> None:
    """Regenerate notebooks/ from solutions/ (instructors)."""
    from grader.notebooks import stale_notebooks, write_notebooks
    from grader.stubs import FenceError

    kit = kit_root()
    require_solutions(kit, "notebooks")
    try:
        if check:
            stale = stale_notebooks(kit)
            click.echo(f"stale notebooks: {', '.join(stale)}: run `grade notebooks`" if stale
                       else "notebooks are up to date")
            ctx.exit(1 if stale else 0)
        changed = write_notebooks(kit)
    except FenceError as err:
        raise bad_call(str(err)) from None
    click.echo(f"rewrote {', '.join(changed)}" if changed else "notebooks are up to date")


@click.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
def release(out_dir: Path) -> None:
    """Write the student copy of the kit into OUT_DIR (new or empty): no solutions, no
    hidden tests (instructors)."""
    from grader.manifest import ManifestError
    from grader.release import ReleaseError, build_release
    from grader.stubs import FenceError

    try:
        files = build_release(kit_root(), out_dir)
    except (ReleaseError, ManifestError, FenceError) as err:
        raise bad_call(str(err)) from None
    click.echo(f"wrote the student release to {out_dir} ({len(files)} files)")
