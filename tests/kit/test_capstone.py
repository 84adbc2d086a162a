"""The capstone notebook runs top to bottom on the reference, headless, in under 60 s."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time

import nbformat

from grader.kit import kit_root

ROOT = kit_root()
CAPSTONE = ROOT / "notebooks" / "capstone.ipynb"
BUDGET_S = 60.0

# Runs the code cells in order in one fresh namespace, as a kernel would (without a kernel:
# nbclient is no dependency of the kit).
RUN_CELLS = """
import sys
import nbformat

notebook = nbformat.read(sys.argv[1], as_version=4)
namespace = {"__name__": "__main__"}
for number, cell in enumerate(notebook.cells):
    if cell.cell_type == "code":
        exec(compile(cell.source, f"<capstone cell {number}>", "exec"), namespace)
"""


def test_capstone_runs_on_the_reference_within_budget() -> None:
    env = {**os.environ, "DLKIT_PACKAGE": "solutions", "MPLBACKEND": "Agg"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", RUN_CELLS, str(CAPSTONE)], cwd=CAPSTONE.parent,
                          env=env, capture_output=True, text=True, timeout=3 * BUDGET_S)
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-3000:]
    assert "PyTorch: final mse" in done.stdout
    assert elapsed < BUDGET_S, f"the capstone took {elapsed:.1f} s (budget {BUDGET_S:.0f} s)"


def uses_plt(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "plt" for n in ast.walk(node))


def guarded(statement: ast.stmt) -> bool:
    """`if plt is not None: ...`, or the guarded import that sets plt."""
    if isinstance(statement, ast.If):
        return ast.unparse(statement.test) == "plt is not None"
    return isinstance(statement, ast.Try) and "import matplotlib.pyplot as plt" in ast.unparse(
        statement
    )


def test_plots_are_optional() -> None:
    """matplotlib is no dependency: every use of plt sits under `if plt is not None`."""
    notebook = nbformat.read(CAPSTONE, as_version=4)
    unguarded = [
        ast.unparse(statement)[:80]
        for cell in notebook.cells if cell.cell_type == "code"
        for statement in ast.parse(cell.source).body
        if uses_plt(statement) and not guarded(statement)
    ]
    assert not unguarded, f"plots that need matplotlib unguarded: {unguarded}"


def test_capstone_names_no_reference_package() -> None:
    """Students get this notebook: it reaches the reference only through DLKIT_PACKAGE."""
    text = CAPSTONE.read_text()
    assert "solutions" not in text
