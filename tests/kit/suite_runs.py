"""Run one exercise's suites on several implementations, in one process.

    python tests/kit/suite_runs.py EXERCISE FOLDER...

prints a JSON list with, for each folder, pytest's exit code and the tail of its output. One
process pays for the imports (NumPy, pytest, PyTorch for matmul) once, not once per mutant; the
suite modules are imported afresh for each folder, so an implementation that modifies a suite's
arrays in place cannot change what the next one is tested against.
"""

from __future__ import annotations

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


def run(exercise: str, folder: str) -> dict[str, object]:
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = pytest.main(["-q", "-x", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
                            "--impl", folder, *suite_files(exercise)])
    forget_suite_modules()
    return {"folder": folder, "exit_code": int(code), "output": output.getvalue()[-OUTPUT_TAIL:]}


if __name__ == "__main__":
    exercise, *folders = sys.argv[1:]
    results = [run(exercise, folder) for folder in folders]
    sys.__stdout__.write(json.dumps(results))
