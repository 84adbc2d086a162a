"""Run the suites on a staged submission in child pytest processes; collect their JSON reports.

A child reads only the kit's configuration (`-c <kit>/pyproject.toml`, `--rootdir <kit>`):
no ini, conftest or plugin of a submission is ever loaded, nor any pytest plugin that happens to
be installed (autoload is off). Its report goes to a private temporary folder. Neither its
output nor its exit status decides a score: `grader.grading.scoring` reads the report against the
manifest, so a child that crashes or runs out of time leaves tests missing, and they score 0.
Two children share the work where there are two cores (see `shards`); their reports merge.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from grader.kit import EXERCISES, RECORDS, VISIBILITIES, exercise_of_test_file

DEFAULT_TIMEOUT_S = 300.0
# The exercises that import PyTorch (seconds of CPU): their suites run in a child of their own,
# beside the others, where there is more than one core.
TORCH_EXERCISES = tuple(r.name for r in RECORDS if r.needs_torch)
# After an interrupt, how long pytest gets to write the report of the tests it finished.
INTERRUPT_GRACE_S = 5.0
# What every pytest child imports before its first test (see ForkedPytest).
PYTEST_PRELOAD = ("pytest", "numpy", "pytest_jsonreport.plugin", "grader.suites.plugin",
                  "grader.sandbox.client")
OUTPUT_TAIL = 4000
# multiprocessing's fork server, for ForkedPytest: POSIX only (Windows can only spawn).
FORK_SERVER = "forkserver" in multiprocessing.get_all_start_methods()
# The pytest child's `python -c`: what `python -m pytest` does, except that SIGINT interrupts it
# whatever it inherited. A process started with SIGINT ignored (a background job of a script,
# nohup-style, CI and cron launchers) passes the ignore on to its children, and Python keeps it:
# the runner's SIGINT at the time limit would do nothing, and the SIGKILL after the grace would
# lose every test the child finished.
PYTEST_BOOTSTRAP = ("import os, runpy, signal, sys; sys.path[0] = os.getcwd(); "
                    "signal.signal(signal.SIGINT, signal.default_int_handler); "
                    "runpy.run_module('pytest', run_name='__main__', alter_sys=True)")


@dataclass
class Run:
    """What the child processes left: their merged report and how they ended."""

    report: dict[str, Any]
    timed_out: bool = False
    exit_codes: list[int | None] = field(default_factory=list)
    output: str = ""


def pytest_env() -> dict[str, str]:
    """The environment of a child pytest: the caller's, less what would change pytest itself."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


def pytest_base_command(kit: Path) -> list[str]:
    """pytest configured by the kit alone (its addopts load grader.suites.plugin)."""
    return [*pytest_launcher(), "-c", str(kit / "pyproject.toml"),
            "--rootdir", str(kit), "-p", "no:cacheprovider"]


def pytest_command(
    kit: Path,
    impl: Path,
    test_files: Sequence[Path],
    report: Path,
    details: bool = False,
    limits: Sequence[str] = (),
    zygote: Path | None = None,
    isolation: str = "auto",
) -> list[str]:
    """The child's command line: run `test_files` on the exercise files in `impl`.

    The submission runs in the sandbox's worker (`--sandbox`), never in the child itself; `limits`
    are `NAME=VALUE` settings of grader.sandbox.limits.Limits. `details` keeps pytest's short
    traceback of each failure (for `grade -v` and Gradescope); without it a failure is its one line,
    several times cheaper when everything fails. `zygote`: the socket of a zygote to fork the
    workers from (grader/sandbox/zygote.py).
    """
    return [
        *pytest_base_command(kit),
        "-p", "pytest_jsonreport.plugin", "--json-report", f"--json-report-file={report}",
        "--json-report-omit", "keywords", "streams", "log", "traceback", "warnings",
        "-q", f"--tb={'short' if details else 'line'}", "--impl", str(impl), "--sandbox",
        *(f"--sandbox-limit={limit}" for limit in limits),
        *([f"--sandbox-zygote={zygote}"] if zygote is not None else []),
        f"--sandbox-isolation={isolation}",
        *map(str, test_files),
    ]


def suite_files(kit: Path, exercises: Iterable[str]) -> list[Path]:
    """The suite files of `exercises` present in the kit, public before hidden."""
    chosen = set(exercises)
    return [
        path
        for visibility in VISIBILITIES
        for path in sorted((kit / "tests" / visibility).glob("test_*.py"))
        if exercise_of_test_file(path) in chosen
    ]


def shards(exercises: Sequence[str]) -> list[list[str]]:
    """The exercises of each child process: PyTorch's import runs beside the rest."""
    if (os.cpu_count() or 1) < 2:
        return [list(exercises)]
    light = [e for e in exercises if e not in TORCH_EXERCISES]
    heavy = [e for e in exercises if e in TORCH_EXERCISES]
    return [group for group in (light, heavy) if group]


def read_report(path: Path) -> dict[str, Any]:
    """A report file, or an empty report where the child left none (or half of one)."""
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"tests": []}
    return report if isinstance(report, dict) else {"tests": []}


def merge_reports(reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One report holding the tests and collectors of several (one per child)."""
    sandbox: dict[str, Any] = {}
    for report in reports:  # the same mode in every child; an error from any of them
        facts = report.get("sandbox")
        if isinstance(facts, dict):
            sandbox.update({k: v for k, v in facts.items() if k != "error" or v})
    return {
        "tests": [t for r in reports for t in r.get("tests", [])],
        "collectors": [c for r in reports for c in r.get("collectors", [])],
        "duration": max((r.get("duration", 0.0) for r in reports), default=0.0),
        "sandbox": sandbox,
    }


class ForkedPytest:
    """A pytest child forked by multiprocessing's fork server, where pytest, NumPy and the
    grader's plugin are already imported: a batch saves their import (0.6 s of CPU) per
    submission. It has the parts of `subprocess.Popen` the runner uses."""

    process: BaseProcess
    pid: int

    def __init__(self, command: list[str], kit: Path, log: Path) -> None:
        if sys.platform == "win32":  # batch forks its pytest children on Linux only
            raise RuntimeError("ForkedPytest: Windows has no fork server")
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(PYTEST_PRELOAD))
        self.process = context.Process(
            target=forked_pytest_main,
            args=(command[len(pytest_launcher()):], str(kit), pytest_env(), str(log)),
        )
        self.process.start()
        assert self.process.pid is not None  # a started process has one
        self.pid = self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.exitcode

    def wait(self, timeout: float | None = None) -> int | None:
        self.process.join(timeout)
        if self.process.exitcode is None:
            raise subprocess.TimeoutExpired("pytest", timeout or 0.0)
        return self.process.exitcode

    def kill(self) -> None:
        self.process.kill()


def forked_pytest_main(args: list[str], kit: str, env: dict[str, str], log: str) -> None:
    """The forked child: what `python -m pytest ARGS` in `kit` with `env` would do."""
    # The fork server hands on the SIGINT disposition of the process that started it, an ignore
    # included (see PYTEST_BOOTSTRAP).
    if sys.platform == "win32":  # see ForkedPytest
        raise RuntimeError("forked_pytest_main: Windows has no fork")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.setsid()  # a group of its own, as start_new_session gives a Popen child
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    for fd in (1, 2):
        os.dup2(out, fd)
    os.close(out)
    os.chdir(kit)
    os.environ.clear()
    os.environ.update(env)
    import pytest

    code = pytest.main(args)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(int(code))


def pytest_launcher() -> list[str]:
    return [sys.executable, "-c", PYTEST_BOOTSTRAP]


Child = subprocess.Popen[bytes] | ForkedPytest


def start(command: list[str], kit: Path, log: Path, forked: bool = False) -> Child:
    """Start pytest's `command`: a new process, or (`forked`, where there is a fork server: not
    on Windows) a fork of the fork server."""
    if forked and FORK_SERVER:
        return ForkedPytest(command, kit, log)
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=kit, env=pytest_env(), stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=sys.platform != "win32",
        )


def signal_group(proc: Child, interrupt: bool) -> None:
    """Interrupt (SIGINT) or kill the child and everything it started (its session, on POSIX).

    Elsewhere only the child itself can be killed, and an interrupt is not sent.
    """
    try:
        if sys.platform != "win32":
            os.killpg(proc.pid, signal.SIGINT if interrupt else signal.SIGKILL)
        elif not interrupt:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        if not interrupt:  # no group yet (a forked child before its setsid): the child alone
            with contextlib.suppress(ProcessLookupError, PermissionError):
                proc.kill()


def stop(procs: Sequence[Child]) -> None:
    """Interrupt (pytest then writes the report of what it finished), then kill."""
    for proc in procs:
        signal_group(proc, interrupt=True)
    deadline = time.monotonic() + INTERRUPT_GRACE_S
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))


def run_suites(
    kit: Path,
    impl: Path,
    exercises: Sequence[str] = EXERCISES,
    timeout: float = DEFAULT_TIMEOUT_S,
    details: bool = False,
    limits: Sequence[str] = (),
    split: bool = True,
    zygote: Path | None = None,
    forked: bool = False,
    isolation: str = "auto",
) -> Run:
    """Run the suites of `exercises` on the exercise files in `impl`, within `timeout` seconds.

    `limits` (`NAME=VALUE`) change the sandbox's limits (grader.sandbox.limits.Limits). `split`: two
    children where there are two cores (`shards`), for one submission graded alone; a batch,
    already grading one submission per core, runs one. `zygote`: see `pytest_command`.
    `forked`: fork the children from a fork server with pytest imported (`ForkedPytest`).
    """
    groups = [files for group in (shards(exercises) if split else [list(exercises)])
              if (files := suite_files(kit, group))]
    if not groups:
        return Run(report={"tests": []})
    with tempfile.TemporaryDirectory(prefix="grade-run-") as tmp:
        reports = [Path(tmp) / f"report-{i}.json" for i in range(len(groups))]
        logs = [Path(tmp) / f"pytest-{i}.log" for i in range(len(groups))]
        procs = [
            start(pytest_command(kit, impl, files, report, details, limits, zygote, isolation),
                  kit, log, forked)
            for files, report, log in zip(groups, reports, logs, strict=True)
        ]
        timed_out = False
        deadline = time.monotonic() + timeout
        try:
            for proc in procs:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
            stop(procs)
        finally:
            for proc in procs:
                # Whatever the submission started is gone with the run, finished or not.
                signal_group(proc, interrupt=False)
                proc.wait()
        output = "".join(log.read_bytes()[-OUTPUT_TAIL:].decode(errors="replace") for log in logs)
        return Run(merge_reports([read_report(r) for r in reports]), timed_out,
                   [proc.returncode for proc in procs], output)
