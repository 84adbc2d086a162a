"""What the exercise notebooks' own cells call: check the work, keep it.

`check_notebook` grades the SAVED notebook the way an instructor grades a notebook submission
(`grader.grading.submission` turns its cells tagged `exercise:<name>` into `<name>.py`), with the
student's other exercises taken from `exercises/`, where the notebook's relative imports
(`from .activations import relu`) also find them. It runs `grade` in a child process and shows
its table. `save_to_exercises` writes the notebook's code into `exercises/<name>.py`, so that
`grade` and the later notebooks use it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from grader.authoring.notebooks import join_cells, tagged_sources
from grader.grading.submission import SubmissionError, notebook_files
from grader.kit import EXERCISES


def notebook_path(exercise: str, checkout: Path) -> Path:
    return checkout / "notebooks" / f"{exercise}.ipynb"


def stage_for_check(exercise: str, checkout: Path, notebook: Path, dest: Path) -> Path:
    """A folder of exercise files: the checkout's exercises/, with `exercise` taken from the
    notebook as grading a notebook submission takes it."""
    dest.mkdir(parents=True)
    for name in EXERCISES:
        if (checkout / "exercises" / f"{name}.py").is_file():
            shutil.copyfile(checkout / "exercises" / f"{name}.py", dest / f"{name}.py")
    modules, _ = notebook_files(notebook)
    if f"{exercise}.py" not in modules:
        raise SubmissionError(f"{notebook.name} has no cell tagged exercise:{exercise}")
    (dest / f"{exercise}.py").write_bytes(modules[f"{exercise}.py"])
    return dest


def check_notebook(exercise: str, checkout: Path, notebook: Path | None = None) -> float | None:
    """Grade the saved notebook's `exercise` with the public tests; print grade's table.

    Returns the score (None when grading could not run).
    """
    notebook = notebook or notebook_path(exercise, checkout)
    with tempfile.TemporaryDirectory(prefix="grade-notebook-") as tmp:
        try:
            folder = stage_for_check(exercise, checkout, notebook, Path(tmp) / "submission")
        except (OSError, SubmissionError) as err:
            print(f"cannot check {notebook.name}: {err}")
            return None
        result_path = Path(tmp) / "result.json"
        done = subprocess.run(
            [sys.executable, "-m", "grader.cli", "--submission", str(folder),
             "--exercise", exercise, "--json", str(result_path)],
            cwd=checkout, capture_output=True, text=True,
        )
        print(done.stdout + done.stderr)
        if not result_path.is_file():
            return None
        result = json.loads(result_path.read_text())
    if result["score"] == result["max_score"] > 0:
        print(f"Every public check passes. To use this code in `grade` and the later notebooks, "
              f'run save_to_exercises("{exercise}", CHECKOUT): it writes exercises/{exercise}.py.')
    return result["score"]


def save_to_exercises(exercise: str, checkout: Path, notebook: Path | None = None) -> Path:
    """Write the saved notebook's cells tagged `exercise:<exercise>` to exercises/<exercise>.py.

    The file is replaced: this is for when the notebook, not the file, holds your work.
    """
    notebook = notebook or notebook_path(exercise, checkout)
    cells = tagged_sources(nbformat.read(notebook, as_version=4), exercise)
    if not cells:
        raise ValueError(f"{notebook.name} has no cell tagged exercise:{exercise}")
    target = checkout / "exercises" / f"{exercise}.py"
    target.write_text(join_cells(cells))
    print(f"wrote {target.relative_to(checkout)} from {notebook.name}")
    return target
