"""The manifest: every test the suites hold, so that a test missing from a report still counts.

`tests/manifest.json` is a list of `{"id", "exercise", "visibility", "weight"}`, one per test of
tests/public and tests/hidden, written by `grade manifest` (pytest's collection, through the
kit's plugin). Grading scores against it, never against what a run happened to report: a test
that did not run scores 0 instead of vanishing from the total.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from math import fsum
from pathlib import Path
from typing import Any

from grader.kit import EXERCISES, VISIBILITIES

MANIFEST = Path("tests") / "manifest.json"


class ManifestError(Exception):
    """The manifest is missing, malformed, or could not be generated; one line says why."""


@dataclass(frozen=True)
class ManifestTest:
    id: str
    exercise: str
    visibility: str
    weight: float

    @property
    def file(self) -> str:
        """The suite file, relative to the kit root: `tests/public/test_losses.py`."""
        return self.id.split("::", 1)[0]


@dataclass(frozen=True)
class Manifest:
    """The tests expected to run, and each exercise's total weight over the FULL manifest.

    Totals are kept from the full manifest so that a test is worth the same in a student's copy
    (no tests/hidden) as in the instructor's: `left_out` holds the tests whose suite is absent.
    """

    tests: tuple[ManifestTest, ...]
    weight_totals: Mapping[str, float]
    left_out: tuple[ManifestTest, ...] = field(default=())

    @classmethod
    def of(cls, tests: Iterable[ManifestTest]) -> Manifest:
        tests = tuple(tests)
        totals = {
            name: fsum(t.weight for t in tests if t.exercise == name)
            for name in EXERCISES
            if any(t.exercise == name for t in tests)
        }
        return cls(tests=tests, weight_totals=totals)

    def present_in(self, root: Path) -> Manifest:
        """Keep the tests whose suite file exists under `root`; the rest go to `left_out`."""
        files = {t.file for t in self.tests}
        present = {f for f in files if (root / f).is_file()}
        return Manifest(
            tests=tuple(t for t in self.tests if t.file in present),
            weight_totals=self.weight_totals,
            left_out=self.left_out + tuple(t for t in self.tests if t.file not in present),
        )


def parse_manifest(data: Any) -> Manifest:
    """Check the JSON of a manifest and build it; ManifestError names the first bad entry."""
    if not isinstance(data, list):
        raise ManifestError("the manifest is not a JSON list of tests")
    tests = []
    for number, entry in enumerate(data):
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("id"), str)
            and entry.get("exercise") in EXERCISES
            and entry.get("visibility") in VISIBILITIES
            and isinstance(entry.get("weight"), int | float)
            and not isinstance(entry.get("weight"), bool)
            and entry["weight"] >= 0
        ):
            raise ManifestError(f"manifest entry {number} is malformed: {entry!r:.120}")
        tests.append(ManifestTest(entry["id"], entry["exercise"], entry["visibility"],
                                  float(entry["weight"])))
    return Manifest.of(tests)


def load_manifest(path: Path) -> Manifest:
    if not path.is_file():
        raise ManifestError(f"{path.name} is missing: run `grade manifest` to generate it")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ManifestError(f"{path.name} is unreadable ({err}): run `grade manifest`") from None
    return parse_manifest(data)


def suite_dirs(kit: Path) -> list[str]:
    return [f"tests/{v}" for v in VISIBILITIES if (kit / "tests" / v).is_dir()]


def collect_command(kit: Path, target: Path) -> list[str]:
    """pytest's collection of every suite present, writing the manifest to `target`."""
    from grader.grading.runner import pytest_base_command

    return [*pytest_base_command(kit), "--collect-only", "-q", *suite_dirs(kit),
            "--write-manifest", str(target)]


def write_manifest(kit: Path, target: Path) -> None:
    """Collect the suites and write their manifest to `target` (ManifestError if that fails)."""
    from grader.grading.runner import pytest_env

    if not suite_dirs(kit):
        target.write_text("[]\n")
        return
    with tempfile.TemporaryDirectory(prefix="grade-manifest-") as tmp:
        fresh = Path(tmp) / "manifest.json"
        done = subprocess.run(collect_command(kit, fresh), cwd=kit, env=pytest_env(),
                              capture_output=True, text=True)
        # 5: no tests collected (suites not written yet), which is a valid, empty manifest.
        if done.returncode not in (0, 5) or not fresh.is_file():
            raise ManifestError(
                f"collecting the suites failed (pytest exit {done.returncode}): run "
                "`pytest --collect-only tests/public tests/hidden` to see why"
            )
        target.write_text(fresh.read_text())


def manifest_is_stale(kit: Path) -> bool:
    """Whether tests/manifest.json differs from what collecting the suites gives now."""
    with tempfile.TemporaryDirectory(prefix="grade-manifest-") as tmp:
        fresh = Path(tmp) / "manifest.json"
        write_manifest(kit, fresh)
        current = kit / MANIFEST
        if not current.is_file():
            return True
        try:
            return json.loads(current.read_text()) != json.loads(fresh.read_text())
        except ValueError:
            return True

