"""The notebooks are generated, hold exactly the stubs, and grade like the same code in files."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from grader.authoring.in_notebook import check_notebook, save_to_exercises
from grader.authoring.notebooks import (
    docstring_markdown,
    exercise_notebook,
    split_cells,
    stale_notebooks,
    tagged_sources,
)
from grader.cli.authoring import notebooks as notebooks_command
from grader.kit import EXERCISES, kit_root

ROOT = kit_root()


def reference_notebook(exercise: str) -> nbformat.NotebookNode:
    """The exercise's notebook with the reference code in its tagged cells."""
    return exercise_notebook(exercise, (ROOT / "solutions" / f"{exercise}.py").read_text())


def assert_cut_from(cells: list[str], text: str) -> None:
    """The cells are consecutive slices of `text`, with only blank lines between them."""
    position = 0
    for cell in cells:
        at = text.find(cell, position)
        assert at >= 0, f"cell not found in order in the stub:\n{cell[:200]}"
        assert not text[position:at].strip(), f"stub text left out: {text[position:at]!r:.200}"
        position = at + len(cell)
    assert not text[position:].strip(), f"stub text left out: {text[position:]!r:.200}"


def test_checked_in_notebooks_match_generation() -> None:
    stale = stale_notebooks(ROOT)
    assert not stale, f"stale notebooks {stale}: run `grade notebooks` to regenerate notebooks/"


def test_notebooks_check_command_agrees() -> None:
    result = CliRunner().invoke(notebooks_command, ["--check"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


@pytest.mark.parametrize("exercise", EXERCISES)
def test_tagged_cells_are_the_stub(exercise: str) -> None:
    notebook = nbformat.read(ROOT / "notebooks" / f"{exercise}.ipynb", as_version=4)
    nbformat.validate(notebook)
    cells = tagged_sources(notebook, exercise)
    assert len(cells) > 1
    assert_cut_from(cells, (ROOT / "exercises" / f"{exercise}.py").read_text())
    untagged = [c for c in notebook.cells if c.cell_type == "code" and not c.metadata.get("tags")]
    assert len(untagged) == 2, "only the setup and check cells are untagged"


def test_split_cells_cuts_at_top_level_definitions() -> None:
    source = (
        '"""Doc."""\n\nimport numpy as np\n\nA = 1\n\n\n'
        "def f():\n    return 1\n\n\n"
        "# about g\n@staticmethod\ndef g():\n    return 2\n\n\n"
        "class C:\n    def m(self):\n        return 3\n"
    )
    cells = split_cells(source)
    assert cells == [
        '"""Doc."""\n\nimport numpy as np\n\nA = 1',
        "def f():\n    return 1",
        "# about g\n@staticmethod\ndef g():\n    return 2",
        "class C:\n    def m(self):\n        return 3",
    ]
    assert_cut_from(cells, source)


def test_docstring_markdown_shows_formulas_as_code_and_flags_the_trap() -> None:
    doc = (
        "s(z) = 1 / (1 + exp(-z)) * x_i.\n\n"
        "Naive: exp(1e4) overflows. Stable: with e = exp(-|z|),\n"
        "    s(z) = 1 / (1 + e)    for z >= 0\n"
        "      (indented more)\n"
        "done, `a*b_c` kept."
    )
    assert docstring_markdown(doc) == (
        "s(z) = 1 / (1 + exp(-z)) \\* x\\_i.\n\n"
        "**The trap.** Naive: exp(1e4) overflows. Stable: with e = exp(-|z|),\n\n"
        "```text\ns(z) = 1 / (1 + e)    for z >= 0\n  (indented more)\n```\n\n"
        "done, `a*b_c` kept."
    )


RUN_ALL_BUT_THE_CHECK = """
import sys
import nbformat

for path in sys.argv[1:]:
    notebook = nbformat.read(path, as_version=4)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    namespace = {"__name__": "__main__"}
    for number, source in enumerate(code[:-1]):
        exec(compile(source, f"{path} cell {number}", "exec"), namespace)
"""


def test_exercise_notebooks_run_in_a_fresh_namespace() -> None:
    """Like a kernel started in notebooks/: the setup cell finds the checkout, and relative
    imports of earlier exercises (`from .activations import ...`) load exercises/."""
    paths = [f"{name}.ipynb" for name in EXERCISES]
    done = subprocess.run([sys.executable, "-c", RUN_ALL_BUT_THE_CHECK, *paths],
                          cwd=ROOT / "notebooks", capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]


def grade_json(*args: str, out: Path) -> subprocess.Popen[bytes]:
    """This kit's `grade`, started with `--json out`."""
    return subprocess.Popen(
        [sys.executable, "-m", "grader.cli", *args, "--json", str(out)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def outcomes(path: Path) -> tuple[float, dict[str, tuple[str, str]]]:
    result = json.loads(path.read_text())
    return result["score"], {t["id"]: (t["outcome"], t["message"]) for t in result["tests"]}


def test_reference_notebook_grades_like_the_reference_folder(tmp_path: Path) -> None:
    """Every exercise's notebook, filled with the reference and handed in as one notebook,
    scores test for test what the reference files score."""
    combined = nbformat.v4.new_notebook(
        cells=[cell for name in EXERCISES for cell in reference_notebook(name).cells]
    )
    nbformat.write(combined, tmp_path / "all.ipynb")
    shutil.copytree(ROOT / "solutions", tmp_path / "files",
                    ignore=shutil.ignore_patterns("__pycache__"))
    runs = [
        grade_json("--submission", str(tmp_path / "all.ipynb"), out=tmp_path / "notebook.json"),
        grade_json("--submission", str(tmp_path / "files"), out=tmp_path / "files.json"),
    ]
    for run in runs:
        assert run.wait(timeout=300) == 0
    assert outcomes(tmp_path / "notebook.json") == outcomes(tmp_path / "files.json")


def test_check_and_save_in_a_students_checkout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The notebook's own check grades the saved notebook with exercises/ for the rest; the
    stub scores 0, the reference full marks; saving writes the same module to exercises/."""
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "solutions", checkout / "exercises",
                    ignore=shutil.ignore_patterns("__pycache__", "losses.py"))
    (checkout / "notebooks").mkdir()
    shutil.copyfile(ROOT / "exercises" / "losses.py", checkout / "exercises" / "losses.py")
    shutil.copyfile(ROOT / "notebooks" / "losses.ipynb", checkout / "notebooks" / "losses.ipynb")
    assert check_notebook("losses", checkout) == 0
    nbformat.write(reference_notebook("losses"), checkout / "notebooks" / "losses.ipynb")
    score = check_notebook("losses", checkout)
    assert score is not None and score > 0
    assert "save_to_exercises" in capsys.readouterr().out
    saved = save_to_exercises("losses", checkout).read_text()
    reference = (ROOT / "solutions" / "losses.py").read_text()
    assert ast.dump(ast.parse(saved)) == ast.dump(ast.parse(reference))
