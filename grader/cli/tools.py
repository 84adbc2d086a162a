"""`grade doctor` and `grade matmul`: a person's set-up checked, and the why-GPUs-matter lab."""

from __future__ import annotations

from pathlib import Path

import click

from grader.cli.common import BadCall, kit_folder, require_solutions


@click.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check this machine and this copy of the kit; say how to fix each problem."""
    from grader.tools.doctor import run_checks

    checks = run_checks(kit_folder())
    for check in checks:
        status = click.style("ok", fg="green") if check.ok else click.style("PROBLEM", fg="red")
        padding = " " * (8 - len(click.unstyle(status)))
        click.echo(f"{status}{padding}{check.name:<19} {check.detail}")
        if check.fix:
            click.echo(f"{'':8}{'fix:':<19} {check.fix}")
    if not all(c.ok for c in checks):
        ctx.exit(1)


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


@click.command()
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
    from grader.sandbox.runtime.loading import ExerciseImportError, load_exercise
    from grader.tools.matmul_table import PlotUnavailable, format_table, run_table, save_plot

    kit = kit_folder()
    folder = kit / ("solutions" if reference else "exercises")
    if reference:
        require_solutions(kit, "--reference is for instructors")
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


COMMANDS = (doctor, matmul)
