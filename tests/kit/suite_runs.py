"""Run one exercise's suites on several implementations, in one process.

    python tests/kit/suite_runs.py EXERCISE FOLDER... [--to-the-end FOLDER]...

prints a JSON list with, for each folder, pytest's exit code, the tests that passed and the tail
of its output. A run stops at its first failure, except for the folders named by
`--to-the-end`, whose every test runs (to tell which tests pass). One process pays for the
imports (NumPy, pytest, PyTorch for matmul) once, not once per mutant; the suite modules are
imported afresh for each folder, so an implementation that modifies a suite's arrays in place
cannot change what the next one is tested against.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUTPUT_TAIL = 3000


def suite_files(exercise: str) -> list[str]:
    """The public then hidden suite files of `exercise`, relative to the kit's root."""
    return [
        str(path.relative_to(ROOT))
        for visibility in ("public", "hidden")
        for path in sorted((ROOT / "tests" / visibility).glob(f"test_{exercise}*.py"))
    ]


def forget_suite_modules() -> None:
    suites = ROOT / "tests"
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and Path(path).resolve().is_relative_to(suites):
            del sys.modules[name]


class PassedTests:
    """A pytest plugin that keeps the node ids of the tests whose call stage passed."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" and report.passed:
            self.ids.append(report.nodeid)


def run(exercise: str, folder: str, to_the_end: bool = False) -> dict[str, object]:
    output = io.StringIO()
    passed = PassedTests()
    stop = [] if to_the_end else ["-x"]
    with contextlib.redirect_stdout(output):
        code = pytest.main(["-q", *stop, "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
                            "--impl", folder, *suite_files(exercise)], plugins=[passed])
    forget_suite_modules()
    return {"folder": folder, "exit_code": int(code), "passed": passed.ids,
            "output": output.getvalue()[-OUTPUT_TAIL:]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("exercise")
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--to-the-end", action="append", default=[])
    args = parser.parse_args()
    results = [run(args.exercise, f, f in args.to_the_end) for f in args.folders]
    sys.__stdout__.write(json.dumps(results))
