"""The rubric: points per exercise, from tests/rubric.toml (an instructor edits it).

    [points]
    activations = 15
    losses = 20
    ...

Within an exercise, a test's share of the points is its weight over the sum of the weights of
that exercise's tests (see `grader.grading.scoring`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.kit import EXERCISES

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: pytest depends on tomli there, so it is always installed with the kit.
    import tomli as tomllib

RUBRIC = Path("tests") / "rubric.toml"


class RubricError(Exception):
    """The rubric is missing or malformed; one line says why."""


@dataclass(frozen=True)
class Rubric:
    points: Mapping[str, float]

    @property
    def total(self) -> float:
        return sum(self.points.values())


def parse_rubric(data: Mapping[str, Any]) -> Rubric:
    """Check a parsed rubric: `[points]` gives every exercise a number >= 0, and nothing else."""
    points = data.get("points")
    if not isinstance(points, dict):
        raise RubricError("the rubric has no [points] table")
    unknown = sorted(set(points) - set(EXERCISES))
    if unknown:
        raise RubricError(f"the rubric names unknown exercises: {', '.join(unknown)}")
    missing = [name for name in EXERCISES if name not in points]
    if missing:
        raise RubricError(f"the rubric gives no points to: {', '.join(missing)}")
    for name, value in points.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise RubricError(f"the points of {name} must be a number >= 0, not {value!r}")
    return Rubric({name: float(points[name]) for name in EXERCISES})


def load_rubric(path: Path) -> Rubric:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise RubricError(f"{path} is missing") from None
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise RubricError(f"{path.name} is unreadable: {err}") from None
    return parse_rubric(data)
