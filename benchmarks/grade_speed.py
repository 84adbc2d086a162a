"""How long grading takes: `grade --reference` end to end, and `grade report` on a saved report.

Targets (issue 3): `grade --reference` at most 5 s median on a 2-core machine, `grade report` at
most 0.5 s. `grade --reference --isolation portable` (the mode of macOS and Windows) is timed in
the same rounds, interleaved with the default mode, so that their ratio is what portable costs.
Run from the kit root:

    python -m benchmarks.grade_speed [--runs 5]

and the figures replace the "grade-speed" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import machine_line, write_section
from grader.grading.runner import pytest_command, pytest_env, suite_files
from grader.kit import EXERCISES, kit_root

PORTABLE = "grade --reference --isolation portable"
TARGETS_S = {"grade --reference": 5.0, PORTABLE: 5.0, "grade report": 0.5}


def grade_command() -> list[str]:
    """The installed console script, as a student runs it."""
    script = shutil.which("grade")
    return [script] if script else [sys.executable, "-m", "grader.cli"]


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def saved_report(kit: Path, folder: Path) -> Path:
    """A pytest-json-report report of the reference on every suite, as a pipeline would save."""
    report = folder / "report.json"
    command = pytest_command(kit, kit / "solutions", suite_files(kit, EXERCISES), report)
    subprocess.run(command, cwd=kit, env=pytest_env(), check=True, stdout=subprocess.DEVNULL)
    return report


def spin(n: int) -> float:
    started = time.perf_counter()
    total = 0
    for i in range(n):
        total += i
    return time.perf_counter() - started


def parallel_speedup(n: int = 10_000_000) -> float:
    """How many cores' worth two CPU-bound processes get at once (2.0: two free cores).

    `grade` runs two children at once; on a host whose vCPUs are shared, they get less.
    """
    from concurrent.futures import ProcessPoolExecutor

    alone = spin(n)
    with ProcessPoolExecutor(2) as pool:
        together = max(pool.map(spin, [n, n]))
    return 2 * alone / together


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    kit = kit_root()
    load = os.getloadavg()[0]
    speedup = parallel_speedup()
    times: dict[str, list[tuple[float, float]]] = {"grade --reference": [], PORTABLE: []}
    for _ in range(runs):  # interleaved: a change of load touches both modes alike
        times["grade --reference"].append(timed([*grade_command(), "--reference"], kit))
        times[PORTABLE].append(timed([*grade_command(), *PORTABLE.split()[1:]], kit))
    with tempfile.TemporaryDirectory() as tmp:
        report = saved_report(kit, Path(tmp))
        times["grade report"] = [timed([*grade_command(), "report", str(report)], kit)
                                 for _ in range(2 * runs)]
    rows = []
    for name, samples in times.items():
        wall = statistics.median(w for w, _ in samples)
        rows.append(
            f"| `{name}` | {wall:.2f} | {min(w for w, _ in samples):.2f} | "
            f"{statistics.median(c for _, c in samples):.2f} | {len(samples)} | "
            f"{TARGETS_S[name]:g} | {'yes' if wall <= TARGETS_S[name] else 'NO'} |"
        )
    ratio = (statistics.median(w for w, _ in times[PORTABLE])
             / statistics.median(w for w, _ in times["grade --reference"]))
    markdown = "\n".join([
        "## Grading speed",
        "",
        f"`python -m benchmarks.grade_speed --runs {runs}`; {machine_line()}; "
        f"load average {load:.1f} when it started; two processes at once ran at "
        f"{speedup:.1f} cores' worth.",
        "",
        "CPU s is the median CPU time of the command and its child processes: the work to do,",
        "whatever else the machine is running.",
        "",
        "| command | median s | min s | CPU s | runs | target s | met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        f"`portable` costs {ratio:.2f}x the default mode's median time per submission here "
        "(the same rounds, interleaved).",
    ])
    write_section("grade-speed", markdown)
    print(markdown)


if __name__ == "__main__":
    main()
