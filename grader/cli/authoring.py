"""The instructor's commands that make what students get: `grade stubs`, `manifest`,
`notebooks` and `release`. They need the full kit (solutions/): in a student's copy they say
so in one line.
"""

from __future__ import annotations

from pathlib import Path

import click

from grader.cli.common import BadCall, kit_folder, require_solutions


@click.command()
@click.option("--check", is_flag=True, help="Only say whether exercises/ is stale (exit 1 if so).")
@click.pass_context
def stubs(ctx: click.Context, check: bool) -> None:
    """Regenerate exercises/ from solutions/ (instructors)."""
    from grader.authoring.stubs import FenceError, stale_stubs, write_stubs

    kit = kit_folder()
    require_solutions(kit, "stubs are made by instructors")
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


@click.command()
@click.option("--check", is_flag=True,
              help="Only say whether tests/manifest.json is stale (exit 1 if so).")
@click.pass_context
def manifest(ctx: click.Context, check: bool) -> None:
    """Regenerate tests/manifest.json from the suites (instructors, after editing tests)."""
    from grader.grading.manifest import MANIFEST, ManifestError, manifest_is_stale, write_manifest

    kit = kit_folder()
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


@click.command()
@click.option("--check", is_flag=True,
              help="Only say whether notebooks/ is stale (exit 1 if so).")
@click.pass_context
def notebooks(ctx: click.Context, check: bool) -> None:
    """Regenerate notebooks/ from solutions/ (instructors)."""
    from grader.authoring.notebooks import stale_notebooks, write_notebooks
    from grader.authoring.stubs import FenceError

    kit = kit_folder()
    require_solutions(kit, "notebooks are made by instructors")
    try:
        if check:
            stale = stale_notebooks(kit)
            click.echo(f"stale notebooks: {', '.join(stale)}: run `grade notebooks`" if stale
                       else "notebooks are up to date")
            ctx.exit(1 if stale else 0)
        changed = write_notebooks(kit)
    except FenceError as err:
        raise BadCall(str(err)) from None
    click.echo(f"rewrote {', '.join(changed)}" if changed else "notebooks are up to date")


@click.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
def release(out_dir: Path) -> None:
    """Write the student copy of the kit into OUT_DIR (new or empty): no solutions, no
    hidden tests (instructors)."""
    from grader.authoring.release import ReleaseError, build_release
    from grader.authoring.stubs import FenceError
    from grader.grading.manifest import ManifestError

    try:
        files = build_release(kit_folder(), out_dir)
    except (ReleaseError, ManifestError, FenceError) as err:
        raise BadCall(str(err)) from None
    click.echo(f"wrote the student release to {out_dir} ({len(files)} files)")


COMMANDS = (stubs, manifest, notebooks, release)
