"""The layout is the architecture: each package of grader/ imports only the packages below it
(the rule each package's docstring states), the import graph has no cycle, and no module or
function grows past what a reader takes in at once.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.kit import kit_root

GRADER = kit_root() / "grader"
# Package -> the packages it may import (besides itself, `grader` for the version, and the
# standard library). Read downwards: nothing imports `cli`; `sandbox.runtime` imports nothing.
ALLOWED: dict[str, set[str]] = {
    "kit": set(),
    "sandbox.runtime": set(),
    "sandbox": {"kit", "sandbox.runtime"},
    "suites": {"kit", "sandbox", "sandbox.runtime"},
    "grading": {"kit", "sandbox", "sandbox.runtime"},
    "authoring": {"kit", "grading"},
    "cohort": {"kit", "grading", "sandbox", "sandbox.runtime"},
    "tools": {"kit", "grading", "sandbox", "sandbox.runtime", "authoring"},
    "cli": {"kit", "grading", "sandbox", "sandbox.runtime", "suites", "cohort", "authoring",
            "tools"},
}
MAX_MODULE_LINES = 550
MAX_FUNCTION_LINES = 60


def package_of(module: str) -> str:
    """grader.sandbox.runtime.wire -> "sandbox.runtime"; grader.sandbox.isolation.linux ->
    "sandbox"; grader.kit -> "kit"; grader -> "grader"."""
    parts = module.split(".")[1:]
    if not parts:
        return "grader"
    if parts[:2] == ["sandbox", "runtime"]:
        return "sandbox.runtime"
    return parts[0]


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(GRADER.rglob("*.py")):
        parts = path.relative_to(GRADER.parent).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def imported(module: str, path: Path) -> set[str]:
    """The grader modules `path` imports, anywhere in it (a lazy import is a dependency too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "grader"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: only the runtime uses these, inside itself
                base = module.rsplit(".", node.level - (path.name == "__init__.py"))[0]
                found.add(f"{base}.{node.module}" if node.module else base)
            elif node.module and node.module.split(".")[0] == "grader":
                found.add(node.module)
    return found


GRAPH = {module: imported(module, path) for module, path in modules()}


def package_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        source = package_of(module)
        edges.setdefault(source, set()).update(
            package_of(t) for t in targets if package_of(t) not in (source, "grader"))
    return edges


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_what_it_may(package: str) -> None:
    wrong = package_edges().get(package, set()) - ALLOWED[package]
    assert not wrong, f"grader.{package} imports {sorted(wrong)}: not allowed (ALLOWED, and " \
                      "its package docstring)"


def test_every_package_is_in_the_rules() -> None:
    assert set(package_edges()) - {"grader"} <= set(ALLOWED)


def test_the_package_graph_has_no_cycle() -> None:
    edges = package_edges()
    done: set[str] = set()

    def visit(package: str, path: tuple[str, ...]) -> None:
        assert package not in path, f"import cycle: {' -> '.join((*path, package))}"
        if package in done:
            return
        for target in sorted(edges.get(package, ())):
            visit(target, (*path, package))
        done.add(package)

    for package in sorted(edges):
        visit(package, ())


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    source = tmp_path / "grader" / "sandbox" / "runtime" / "bad.py"
    source.parent.mkdir(parents=True)
    source.write_text("from grader.kit import EXERCISES\nfrom . import wire\n")
    found = imported("grader.sandbox.runtime.bad", source)
    assert found == {"grader.kit", "grader.sandbox.runtime"}
    assert {package_of(m) for m in found} - {"sandbox.runtime"} == {"kit"}


@pytest.mark.parametrize(("module", "path"), list(modules()), ids=lambda v: str(v))
def test_modules_and_functions_stay_readable(module: str, path: Path) -> None:
    text = path.read_text()
    assert text.count("\n") <= MAX_MODULE_LINES, f"{module}: split it by job"
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.end_lineno is not None
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"{module}: {', '.join(long)}: one job per function"
