"""The manifest lists every suite test with its weight, and the checked-in one is up to date."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grader.grading.manifest import (
    ManifestError,
    load_manifest,
    manifest_is_stale,
    parse_manifest,
    write_manifest,
)
from grader.kit import kit_root

KIT_CONFIG = """
[tool.pytest.ini_options]
addopts = "-p grader.suites.plugin --import-mode=importlib"
markers = ["weight(w): share", "gpu: needs CUDA"]
"""
SUITE = """
import pytest

def test_plain(impl):
    pass

@pytest.mark.weight(3)
@pytest.mark.parametrize("n", [1, 2])
def test_weighted(impl, n):
    pass

@pytest.mark.gpu
@pytest.mark.weight(5)
def test_on_gpu(impl):
    pass
"""


def test_the_checked_in_manifest_is_up_to_date() -> None:
    assert not manifest_is_stale(kit_root()), (
        "tests/manifest.json is stale: run `grade manifest` after editing tests"
    )


def small_kit(root: Path, suites: dict[str, str]) -> Path:
    (root / "pyproject.toml").write_text(KIT_CONFIG)
    for name, text in suites.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_write_manifest_lists_every_test_with_its_weight(tmp_path: Path) -> None:
    kit = small_kit(tmp_path, {"tests/public/test_losses.py": SUITE,
                               "tests/hidden/test_losses.py": "def test_hidden(impl):\n    pass\n"})
    write_manifest(kit, kit / "manifest.json")
    entries = json.loads((kit / "manifest.json").read_text())
    assert [(e["id"].split("/", 1)[1], e["visibility"], e["weight"]) for e in entries] == [
        ("public/test_losses.py::test_plain", "public", 1),
        ("public/test_losses.py::test_weighted[1]", "public", 3),
        ("public/test_losses.py::test_weighted[2]", "public", 3),
        ("public/test_losses.py::test_on_gpu", "public", 0),
        ("hidden/test_losses.py::test_hidden", "hidden", 1),
    ]
    assert load_manifest(kit / "manifest.json").weight_totals == {"losses": 8.0}


def test_a_suite_that_fails_to_collect_leaves_the_manifest_untouched(tmp_path: Path) -> None:
    kit = small_kit(tmp_path, {"tests/public/test_losses.py": "def broken(:\n"})
    (kit / "manifest.json").write_text("[]\n")
    with pytest.raises(ManifestError, match="collecting the suites failed"):
        write_manifest(kit, kit / "manifest.json")
    assert (kit / "manifest.json").read_text() == "[]\n"


def test_a_missing_manifest_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="run `grade manifest`"):
        load_manifest(tmp_path / "manifest.json")


@pytest.mark.parametrize(
    "data",
    [
        {"id": "x"},
        [{"id": "a", "exercise": "nonsense", "visibility": "public", "weight": 1}],
        [{"id": "a", "exercise": "losses", "visibility": "secret", "weight": 1}],
        [{"id": "a", "exercise": "losses", "visibility": "public", "weight": -1}],
        [{"id": "a", "exercise": "losses", "visibility": "public", "weight": True}],
        [{"exercise": "losses", "visibility": "public", "weight": 1}],
    ],
    ids=["not-a-list", "exercise", "visibility", "negative-weight", "bool-weight", "no-id"],
)
def test_a_malformed_manifest_is_refused(data: Any) -> None:
    with pytest.raises(ManifestError):
        parse_manifest(data)


def test_present_in_keeps_weight_totals_of_the_full_manifest(tmp_path: Path) -> None:
    manifest = parse_manifest([
        {"id": "tests/public/test_sgd.py::a", "exercise": "sgd", "visibility": "public",
         "weight": 1},
        {"id": "tests/hidden/test_sgd.py::b", "exercise": "sgd", "visibility": "hidden",
         "weight": 3},
    ])
    small_kit(tmp_path, {"tests/public/test_sgd.py": ""})
    present = manifest.present_in(tmp_path)
    assert [t.id for t in present.tests] == ["tests/public/test_sgd.py::a"]
    assert [t.id for t in present.left_out] == ["tests/hidden/test_sgd.py::b"]
    assert present.weight_totals == {"sgd": 4.0}
