"""The batch benchmark: grade generated submissions with -j 1 and -j 2, record it in the docs.

Each generated submission is a folder of exercise files, each file either the reference or
the stub (seeded choice), so runs mix passing and failing tests as a real cohort does. The
cohort is graded from scratch with 1 and with 2 parallel jobs, in interleaved rounds (a slice
with -j 1 then -j 2, the next slice -j 2 then -j 1, ...) so that both see the same background
load; each job count's figures are the sum (or median) over its rounds.

Run from the repository root: `python -m benchmarks.batch` (60 submissions in 4 rounds;
`--count N` for a quicker look; `--no-write` to leave docs/benchmarks.md alone). On a machine
busy with other work the figures say more about that work than about the grader: the load
average is recorded.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing.forkserver
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.report import machine_line, write_section
from grader.cohort.batch import run_batch
from grader.kit import EXERCISES, kit_root

TARGET_SECONDS = 4.0
TARGET_SPEEDUP = 1.7
SAMPLE_EVERY_S = 0.1


def make_cohort(folder: Path, count: int, rounds: int = 1, seed: int = 0) -> list[Path]:
    """`count` folders of exercise files, each file the reference (p = 0.6) or the stub, dealt
    into `rounds` slices (folders `round<r>`); returns the slices."""
    rng = random.Random(seed)
    kit = kit_root()
    for i in range(count):
        student = folder / f"round{i % rounds}" / f"student{i:03d}"
        student.mkdir(parents=True)
        for name in EXERCISES:
            source = "solutions" if rng.random() < 0.6 else "exercises"
            shutil.copy(kit / source / f"{name}.py", student / f"{name}.py")
    return [folder / f"round{r}" for r in range(min(rounds, count))]


def descendants_rss(root_pid: int) -> int:
    """Resident bytes of every process below `root_pid` (from /proc; 0 where there is none)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # The fields after the command's closing parenthesis: state, then ppid.
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    below, frontier = set(), {root_pid}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - below
        below |= frontier
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in below:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
    return total


class PeakMemory:
    """Samples the resident memory of all this process's descendants in a thread."""

    def __init__(self) -> None:
        self.peak = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def sample(self) -> None:
        while not self.stopping.wait(SAMPLE_EVERY_S):
            self.peak = max(self.peak, descendants_rss(os.getpid()))

    def __enter__(self) -> PeakMemory:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join()


@dataclass(frozen=True)
class Measure:
    jobs: int
    wall_s: float
    seconds: tuple[float, ...]  # each submission's grading, as the gradebook's `seconds` column
    cpu_total_s: float  # CPU seconds (user + system) of all grading processes
    peak_rss: int  # all grading processes together, sampled

    @property
    def count(self) -> int:
        return len(self.seconds)

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    @property
    def cpu_s(self) -> float:
        """CPU seconds per submission."""
        return self.cpu_total_s / self.count

    @property
    def throughput(self) -> float:
        """Submissions per minute."""
        return 60.0 * self.count / self.wall_s

    def __add__(self, other: Measure) -> Measure:
        return Measure(self.jobs, self.wall_s + other.wall_s, self.seconds + other.seconds,
                       self.cpu_total_s + other.cpu_total_s, max(self.peak_rss, other.peak_rss))


def children_cpu() -> float:
    """CPU seconds of every finished descendant so far (each process counts once reaped)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def stop_fork_server() -> None:
    """End multiprocessing's fork server (the batch's pytest children are its forks), so that
    its CPU and theirs count in RUSAGE_CHILDREN; the next batch starts its own, as a new
    `grade batch` would. multiprocessing has no public way to do this."""
    multiprocessing.forkserver._forkserver._stop()  # type: ignore[attr-defined]


def measure(cohort: Path, work: Path, jobs: int) -> Measure:
    out = work / cohort.name / f"j{jobs}" / "gradebook.csv"
    cpu, started = children_cpu(), time.monotonic()
    with PeakMemory() as memory:
        report = run_batch(cohort, out, jobs=jobs, force=True, stream=io.StringIO())
    wall = time.monotonic() - started
    stop_fork_server()
    cpu = children_cpu() - cpu
    return Measure(jobs, wall, tuple(row.seconds for row in report.rows), cpu, memory.peak)


def interleaved(slices: list[Path], work: Path) -> tuple[Measure, Measure]:
    """Each slice graded with -j 1 and -j 2, alternating which goes first; the sums."""
    totals: dict[int, Measure] = {}
    for r, cohort in enumerate(slices):
        for jobs in (1, 2) if r % 2 == 0 else (2, 1):
            m = measure(cohort, work, jobs)
            print(f"round {r}, -j {jobs}: {m.count} in {m.wall_s:.1f} s, load "
                  f"{load_average()}", flush=True)
            totals[jobs] = totals[jobs] + m if jobs in totals else m
    return totals[1], totals[2]


@dataclass(frozen=True)
class Profile:
    """Where a batch's CPU goes: each submission's grading, and the batch's own start-up."""

    stubs_cpu_s: float  # per submission, every exercise a stub: tests failing at once
    reference_cpu_s: float  # per submission, every exercise the reference: every test runs
    startup_cpu_s: float  # once per batch: the sandbox zygote and pytest's fork server
    torch_import_cpu_s: float  # `import torch` in a fresh interpreter


def batch_cpu(source: Path, count: int, work: Path) -> float:
    """CPU seconds of a `-j 1` batch of `count` copies of the exercise files in `source`."""
    cohort = work / f"{source.name}-{count}"
    for i in range(count):
        shutil.copytree(source, cohort / f"student{i}", ignore=shutil.ignore_patterns("__*"))
    before = children_cpu()
    run_batch(cohort, work / f"{cohort.name}.csv", jobs=1, force=True, stream=io.StringIO())
    stop_fork_server()
    return children_cpu() - before


def profile(work: Path, count: int = 4) -> Profile:
    """Batches of 1 and of 1 + `count` identical submissions: the difference is `count`
    gradings, the rest of the single one is the start-up."""
    kit = kit_root()
    per_submission = {}
    startup = []
    for source in (kit / "exercises", kit / "solutions"):
        one, more = batch_cpu(source, 1, work), batch_cpu(source, 1 + count, work)
        per_submission[source.name] = (more - one) / count
        startup.append(one - per_submission[source.name])
    return Profile(
        stubs_cpu_s=per_submission["exercises"],
        reference_cpu_s=per_submission["solutions"],
        startup_cpu_s=statistics.median(startup),
        torch_import_cpu_s=cpu_of(lambda: subprocess.run([sys.executable, "-c", "import torch"],
                                                         check=True)),
    )


def cpu_of(run: Callable[[], object]) -> float:
    before = children_cpu()
    run()
    return children_cpu() - before


def mib(size: int) -> str:
    return f"{size / 2**20:.0f} MiB"


def markdown(
    one: Measure, two: Measure, where: Profile, largest_child: int, loads: tuple[str, str]
) -> str:
    ratio = two.throughput / one.throughput
    verdict_time = "met" if one.median_s <= TARGET_SECONDS else "MISSED"
    verdict_speedup = "met" if ratio >= TARGET_SPEEDUP else "MISSED"
    rows = [
        "| jobs | submissions | wall | median per submission | CPU per submission "
        "| throughput | peak memory (all) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for m in (one, two):
        rows.append(f"| {m.jobs} | {m.count} | {m.wall_s:.1f} s | {m.median_s:.2f} s | "
                    f"{m.cpu_s:.2f} s | {m.throughput:.1f} / min | {mib(m.peak_rss)} |")
    return "\n".join([
        "## Batch grading",
        "",
        f"`python -m benchmarks.batch`: {one.count} generated submissions (each exercise file "
        "the reference or the stub, seeded), graded from scratch with `-j 1` and with `-j 2` "
        "in interleaved rounds.",
        f"Machine: {machine_line()}; load average before / after: {loads[0]} / {loads[1]}.",
        "",
        *rows,
        "",
        f"- median seconds per submission (`-j 1`): {one.median_s:.2f} s "
        f"(target <= {TARGET_SECONDS:g} s: {verdict_time})",
        f"- throughput `-j 2` / `-j 1`: {ratio:.2f}x (target >= {TARGET_SPEEDUP:g}x: "
        f"{verdict_speedup})",
        f"- largest single grading process (ru_maxrss of children): {mib(largest_child)}",
        "- CPU per submission: user + system seconds of every grading process (pytest "
        "children, sandbox workers, and each round's start-up of the zygote and fork server, "
        "shared among its submissions; RUSAGE_CHILDREN); on 2 idle cores throughput cannot "
        f"exceed {120 / one.cpu_s:.1f} / min",
        "- peak memory (all): resident memory of every grading process together (pytest "
        "children, sandbox workers, the zygote and the fork server), sampled every "
        f"{SAMPLE_EVERY_S:g} s",
        "- each round is a `grade batch` of its own: the first grading of a round also waits "
        "for the zygote to import PyTorch",
        "",
        "Where the CPU goes (a `-j 1` batch of 1 and one of 5 identical submissions: the "
        "difference is 4 gradings, the rest of the first is the batch's start-up):",
        "",
        f"- a submission, every exercise a stub: {where.stubs_cpu_s:.2f} s (one pytest child "
        "forked with pytest imported, one sandbox worker forked with NumPy and PyTorch "
        "imported; the tests fail at once)",
        f"- a submission, every exercise the reference: {where.reference_cpu_s:.2f} s (every "
        "test runs to its end)",
        f"- the batch's start-up, once: {where.startup_cpu_s:.2f} s (the sandbox zygote "
        f"imports PyTorch, {where.torch_import_cpu_s:.2f} s in a fresh interpreter, and "
        "pytest's fork server its modules)",
        "- the batch's own work (staging, hashing, writing outputs) is milliseconds per "
        "submission",
    ])


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--no-write", action="store_true", help="print, leave the docs alone")
    args = parser.parse_args()
    before = load_average()
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        work = Path(tmp)
        slices = make_cohort(work / "cohort", args.count, args.rounds)
        one, two = interleaved(slices, work / "out")
    largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        where = profile(Path(tmp))
    print(where, flush=True)
    text = markdown(one, two, where, largest, (before, load_average()))
    print(text)
    if not args.no_write:
        write_section("batch", text)


if __name__ == "__main__":
    main()
