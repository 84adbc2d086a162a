"""What the sandbox costs: a proxy round trip, a worker's start, and the suites through it.

Targets (issue 4): a round trip on a small array at most 0.2 ms median; the reference's suites
through the worker at most 1.5 times their in-process time. Run from the kit root:

    python -m benchmarks.sandbox_overhead [--calls 3000] [--runs 3] [--no-write]

and the figures replace the "sandbox-overhead" section of docs/benchmarks.md. A round trip is
two process switches and a few dozen microseconds of Python on each side, so on a small,
shared machine the load average (recorded) says as much as the code does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.report import machine_line, write_section
from grader.grading.runner import pytest_command, pytest_env, suite_files
from grader.kit import EXERCISES, kit_root
from grader.sandbox.client import WorkerClient
from grader.sandbox.isolation import default_mode
from grader.sandbox.remote import SandboxImpl
from grader.sandbox.runtime.channel import Channel, Pipes
from grader.sandbox.runtime.loading import load_exercise

TARGET_ROUND_TRIP_US = 200.0
TARGET_SUITES_RATIO = 1.5
# The smallest useful call: an array of 8 floats in, one out.
SUBMISSION = '''
def add_one(x):
    return x + 1


class Counter:
    def __init__(self):
        self.count = 0

    def bump(self, x):
        self.count += 1
        return x
'''


def median_us(function: Callable[[], Any], calls: int) -> float:
    """Median wall time of one call, in microseconds (after a few warm-up calls)."""
    for _ in range(min(50, calls)):
        function()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def round_trips(folder: Path, calls: int) -> list[tuple[str, float, float]]:
    """(what, in-process median µs, sandbox median µs) for a few kinds of call."""
    x = np.linspace(-1.0, 1.0, 8)
    local = load_exercise(folder, "activations")
    reference = load_exercise(kit_root() / "solutions", "activations")
    rows = []
    client = WorkerClient(folder)
    try:
        remote = SandboxImpl(client, "activations")
        local_counter, remote_counter = local.Counter(), remote.Counter()
        rows.append(("function call, 8 floats in and out",
                     median_us(lambda: local.add_one(x), calls),
                     median_us(lambda: remote.add_one(x), calls)))
        rows.append(("method call on an instance",
                     median_us(lambda: local_counter.bump(x), calls),
                     median_us(lambda: remote_counter.bump(x), calls)))
    finally:
        client.close()
    client = WorkerClient(kit_root() / "solutions")
    try:
        remote = SandboxImpl(client, "activations")
        rows.append(("reference sigmoid, 8 floats", median_us(lambda: reference.sigmoid(x), calls),
                     median_us(lambda: remote.sigmoid(x), calls)))
    finally:
        client.close()
    return rows


ECHO = """
import sys
from grader.sandbox.runtime.channel import Channel, ChannelClosed, Pipes
channel = Channel(Pipes(int(sys.argv[1]), int(sys.argv[2])))
while True:
    try:
        message, buffers = channel.recv()
    except ChannelClosed:
        break
    channel.send(message, buffers)
"""


def echo_floor_us(calls: int) -> float:
    """The floor of any two-process design here: one frame (64 bytes of data) echoed by another
    Python process, with no values encoded, no proxy, no limits."""
    requests_r, requests_w = os.pipe()
    replies_r, replies_w = os.pipe()
    echo = subprocess.Popen([sys.executable, "-c", ECHO, str(requests_r), str(replies_w)],
                            pass_fds=(requests_r, replies_w), env={**os.environ,
                                                                   "PYTHONPATH": str(kit_root())})
    os.close(requests_r)
    os.close(replies_w)
    channel = Channel(Pipes(replies_r, requests_w))
    payload = [bytes(64)]

    def round_trip() -> None:
        channel.send({"op": "call", "h": 2}, payload)
        channel.recv()

    try:
        return median_us(round_trip, calls)
    finally:
        os.close(requests_w)
        echo.wait()
        os.close(replies_r)


def worker_starts(folder: Path, runs: int) -> float:
    """Median seconds from nothing to a worker that has imported one exercise."""
    times = []
    for _ in range(runs):
        client = WorkerClient(folder)
        started = time.perf_counter()
        SandboxImpl(client, "activations")
        times.append(time.perf_counter() - started)
        client.close()
    return statistics.median(times)


def suites_seconds(sandbox: bool, folder: Path) -> float:
    """Wall time of one pytest run of every suite on the reference, as `grade` runs it."""
    kit = kit_root()
    command = pytest_command(kit, kit / "solutions", suite_files(kit, EXERCISES),
                             folder / "report.json")
    started = time.perf_counter()
    subprocess.run([*command, *(["--sandbox"] if sandbox else [])], cwd=kit, env=pytest_env(),
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as tmp:
        folder = Path(tmp) / "submission"
        folder.mkdir()
        (folder / "activations.py").write_text(SUBMISSION)
        rows = round_trips(folder, args.calls)
        floor = echo_floor_us(args.calls)
        start_s = worker_starts(folder, args.runs)
        timings: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.runs):  # alternate, so that both see the same background load
            for sandbox in (False, True):
                timings[sandbox].append(suites_seconds(sandbox, Path(tmp)))
    in_process, sandboxed = (statistics.median(timings[s]) for s in (False, True))
    markdown = report(rows, floor, start_s, in_process, sandboxed, args, load_before)
    print(markdown)
    if not args.no_write:
        write_section("sandbox-overhead", markdown)


def report(rows: list[tuple[str, float, float]], floor: float, start_s: float,
           in_process: float, sandboxed: float, args: argparse.Namespace,
           load_before: float) -> str:
    lines = [
        "## sandbox-overhead: what running the submission in a worker process costs",
        "",
        f"Isolation mode `{default_mode()}`. Medians of {args.calls} calls; suites: median of "
        f"{args.runs} pytest runs of every suite on the reference, in-process and with "
        "`--sandbox`, alternated. Reproduce: `python -m benchmarks.sandbox_overhead`.",
        "",
        f"Machine: {machine_line()}; load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after.",
        "",
        "| call | in-process | through the sandbox | target |",
        "|:--|--:|--:|--:|",
    ]
    for what, local, remote in rows:
        target = f"{TARGET_ROUND_TRIP_US:.0f} us" if what.startswith("function") else ""
        lines.append(f"| {what} | {local:.1f} us | {remote:.0f} us | {target} |")
    lines.append(f"| floor: a bare frame echoed by another Python process | | {floor:.0f} us | |")
    ratio = sandboxed / in_process
    lines += [
        "",
        "| run | seconds | target |",
        "|:--|--:|--:|",
        f"| worker start (supervisor, namespaces, Python, numpy, one import) | {start_s:.2f} | |",
        f"| every suite, reference, in-process | {in_process:.2f} | |",
        f"| every suite, reference, sandboxed | {sandboxed:.2f} | |",
        f"| ratio sandboxed / in-process | {ratio:.2f} | {TARGET_SUITES_RATIO} |",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
