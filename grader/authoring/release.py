"""The student release: the copy of the kit an instructor hands out, holding no answers.

    <release>/
      exercises/            the stubs (generated from solutions/, never the solutions)
      notebooks/            the generated notebooks and the capstone
      grader/               the grader package, whole (it runs without solutions/)
      tests/public/         the public suites
      tests/rubric.toml     the points
      tests/manifest.json   the public tests, plus one anonymous entry per exercise holding
                            the weight of its hidden tests (see `student_manifest`)
      pyproject.toml        the kit's, with pytest pointed at tests/public
      README.md             for students (generated here)
      .github/workflows/grade.yml   runs `grade` on every push
      .gitignore

There is no solutions/, tests/hidden/ or tests/kit/, and `release_leaks` checks that no file
holds a trace of them: no solution fence, no import of the `solutions` package, no name of a
hidden test. `build_release` refuses to leave a release that fails that check, or one built
from stale stubs, notebooks or manifest.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tokenize
from collections.abc import Iterator
from pathlib import Path

import nbformat

from grader.authoring.notebooks import stale_notebooks
from grader.authoring.stubs import BEGIN, END, expected_stubs, stale_stubs
from grader.grading.manifest import MANIFEST, load_manifest, manifest_is_stale
from grader.grading.rubric import RUBRIC, load_rubric
from grader.kit import EXERCISES, exercise_record

IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
# The reference package named as a module: imported, imported from, dotted into, or handed
# to importlib. (A path, solutions/, is no module: the grader's --reference mentions it.)
SOLUTIONS_MODULE = re.compile(
    r"\bimport\s+solutions\b(?!/)"
    r"|\bfrom\s+solutions(?:\.\w+)*\s+import\b"
    r"|\bsolutions\.[A-Za-z_]"
    r"|import_module\(\s*[\"']solutions\b"
)
HIDDEN_PLACEHOLDER = "hidden::{exercise}"


class ReleaseError(Exception):
    """The release cannot be built, or would leak; the message is one line saying why."""


def build_release(kit: Path, out: Path) -> list[Path]:
    """Write the student release of `kit` into the new or empty folder `out`.

    Returns the files written, relative to `out`.
    """
    if out.exists() and any(out.iterdir()):
        raise ReleaseError(f"{out} is not empty: give a new folder")
    check_sources(kit)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(kit / "grader", out / "grader", ignore=IGNORED)
    (out / "exercises").mkdir()
    shutil.copyfile(kit / "exercises" / "__init__.py", out / "exercises" / "__init__.py")
    for name, text in expected_stubs(kit / "solutions").items():
        (out / "exercises" / name).write_text(text)
    shutil.copytree(kit / "notebooks", out / "notebooks", ignore=IGNORED)
    shutil.copytree(kit / "tests" / "public", out / "tests" / "public", ignore=IGNORED)
    shutil.copyfile(kit / RUBRIC, out / RUBRIC)
    (out / MANIFEST).write_text(json.dumps(student_manifest(kit), indent=1) + "\n")
    (out / "pyproject.toml").write_text(student_pyproject((kit / "pyproject.toml").read_text()))
    (out / "README.md").write_text(student_readme(kit))
    (out / ".github" / "workflows").mkdir(parents=True)
    (out / ".github" / "workflows" / "grade.yml").write_text(WORKFLOW)
    (out / ".gitignore").write_text(GITIGNORE)
    leaks = release_leaks(out, kit)
    if leaks:
        raise ReleaseError(f"the release in {out} leaks: {leaks[0]} (and {len(leaks) - 1} more)")
    return sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())


def check_sources(kit: Path) -> None:
    """Refuse to release from a kit whose generated files are not what generation gives."""
    if not (kit / "solutions").is_dir():
        raise ReleaseError("this copy of the kit has no solutions/: releases are built by "
                           "instructors, from the full kit")
    if stale := stale_stubs(kit / "solutions", kit / "exercises"):
        raise ReleaseError(f"stale stubs ({', '.join(stale)}): run `grade stubs` first")
    if stale := stale_notebooks(kit):
        raise ReleaseError(f"stale notebooks ({', '.join(stale)}): run `grade notebooks` first")
    if manifest_is_stale(kit):
        raise ReleaseError(f"{MANIFEST} is stale: run `grade manifest` first")


def student_manifest(kit: Path) -> list[dict[str, object]]:
    """The manifest for students: the public tests as they are, and for each exercise one
    anonymous entry carrying the total weight of its hidden tests.

    The grader keeps each exercise's weight total over the FULL manifest, so that a public
    test is worth the same points in a student's copy as when the instructor grades; the
    anonymous entry keeps that total (and lets `grade` say what the hidden tests are worth)
    without naming a single hidden test.
    """
    manifest = load_manifest(kit / MANIFEST)
    entries: list[dict[str, object]] = [
        {"id": t.id, "exercise": t.exercise, "visibility": t.visibility, "weight": t.weight}
        for t in manifest.tests
        if t.visibility == "public"
    ]
    for exercise in EXERCISES:
        weight = sum(t.weight for t in manifest.tests
                     if t.visibility == "hidden" and t.exercise == exercise)
        if weight > 0:
            entries.append({"id": HIDDEN_PLACEHOLDER.format(exercise=exercise),
                            "exercise": exercise, "visibility": "hidden", "weight": weight})
    return entries


def student_pyproject(text: str) -> str:
    """The kit's pyproject.toml, with pytest's default tests the public suites (the kit's
    own tests, tests/kit, are not in the release)."""
    block = re.compile(r"^(?:#[^\n]*\n)*testpaths = \[[^\]\n]*\]\n", re.MULTILINE)
    if len(block.findall(text)) != 1:
        raise ReleaseError("pyproject.toml: expected one `testpaths = [...]` line to rewrite")
    return block.sub(
        '# `pytest` runs the public suites on exercises/; `grade` scores them.\n'
        'testpaths = ["tests/public"]\n',
        text,
    )


def text_files(folder: Path) -> Iterator[tuple[Path, str | None]]:
    """Every file under `folder` with its text (None when it is not UTF-8)."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            yield path, path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            yield path, None


def comment_fences(code: str) -> bool:
    """Whether Python code holds a solution fence: a `# BEGIN SOLUTION` or `# END SOLUTION`
    comment. (The markers inside a string, as in the stub generator's own code, fence
    nothing.) Code that does not tokenize is read line by line."""
    try:
        comments = [t.string for t in tokenize.generate_tokens(io.StringIO(code).readline)
                    if t.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError):
        comments = code.splitlines()
    return any(line.strip() in (BEGIN, END) for line in comments)


def holds_fence(path: Path, text: str) -> bool:
    """Whether a file holds a solution fence; a notebook's code cells are read as code."""
    if path.suffix == ".py":
        return comment_fences(text)
    if path.suffix == ".ipynb":
        cells = nbformat.reads(text, as_version=4).cells
        return any(
            comment_fences(c.source) if c.cell_type == "code"
            else any(line.strip() in (BEGIN, END) for line in c.source.splitlines())
            for c in cells
        )
    return any(line.strip() in (BEGIN, END) for line in text.splitlines())


def hidden_test_names(kit: Path) -> set[str]:
    """Names of the test functions of the hidden suites that no public suite also uses."""
    def names(folder: Path) -> set[str]:
        return {
            name
            for path in folder.glob("test_*.py")
            for name in re.findall(r"^\s*def (test_\w+)", path.read_text(), re.MULTILINE)
        }

    return names(kit / "tests" / "hidden") - names(kit / "tests" / "public")


def release_leaks(release: Path, kit: Path) -> list[str]:
    """What in `release` gives away an answer or a hidden test; empty when nothing does."""
    leaks = [
        f"{folder}/ is present"
        for folder in ("solutions", "tests/hidden", "tests/kit")
        if (release / folder).exists()
    ]
    names = sorted(hidden_test_names(kit))
    hidden = re.compile(rf"\b(?:{'|'.join(names)})\b") if names else None
    for path, text in text_files(release):
        shown = path.relative_to(release)
        if text is None:
            leaks.append(f"{shown} is not a text file")
            continue
        if holds_fence(path, text):
            leaks.append(f"{shown} holds a solution fence")
        if SOLUTIONS_MODULE.search(text):
            leaks.append(f"{shown} names the solutions package")
        if hidden and (found := sorted(set(hidden.findall(text)))):
            leaks.append(f"{shown} names hidden tests ({', '.join(found[:3])})")
    return leaks


def student_readme(kit: Path) -> str:
    points = load_rubric(kit / RUBRIC).points
    rows = "\n".join(
        f"| {exercise_record(name).position} | `{name}` | `exercises/{name}.py` | "
        f"`notebooks/{name}.ipynb` | {points.get(name, 0):g} |"
        for name in EXERCISES
    )
    return README.format(rows=rows, total=f"{sum(points.values()):g}")


README = """# Week 1: neural networks from scratch

Your copy of the week-1 exercises: from a single neuron to backpropagation, in NumPy, and a
matrix-multiplication benchmark that shows why deep learning runs on GPUs. You write the code;
`grade` runs the public tests and tells you, in one line per failing test, what went wrong.

## Set up

Python 3.10 or later:

    python -m venv .venv
    . .venv/bin/activate            # Windows: .venv\\Scripts\\activate
    python -m pip install -e .
    grade doctor                    # checks Python, NumPy, PyTorch and your GPU, if any

## Work

| # | exercise | file | notebook | points |
| --- | --- | --- | --- | --- |
{rows}

Do them in this order: later exercises import earlier ones (`from .activations import relu`).
In each file, replace every `raise NotImplementedError(...)` with your code. The docstrings
give the formulas, the shapes, and the numerically stable recipe where the textbook one breaks.

Prefer notebooks? `notebooks/<exercise>.ipynb` holds the same code with the lesson around it.
Only the cells tagged `exercise:<name>` are your answer. The notebook's last cell grades what
you saved; `save_to_exercises("<name>", CHECKOUT)` then copies your code into `exercises/`,
where `grade` and the later exercises look for it.

When activations, losses, backprop and sgd pass, open `notebooks/capstone.ipynb`: a neural
net from scratch, built from your own code, checked against PyTorch. Its plots need
matplotlib (`python -m pip install matplotlib`); without it, it runs and skips them.

## Grade

    grade                           # every exercise: a table of points, then why points were lost
    grade --exercise losses         # one exercise
    grade -v                        # the full report of each failing test
    pytest tests/public/test_losses.py   # the public tests themselves

The exercises are worth {total} points. `grade` runs the public tests, which carry part of
each exercise's points; your instructor also runs hidden tests (edge cases and randomised
comparisons) worth the rest, and `grade` says how many points they carry. Passing the public
tests is necessary, not sufficient: the docstrings say what is asked.

## Submit

Push your work: `.github/workflows/grade.yml` runs `grade` on every push, and the run's
summary shows the table (the Actions tab of your repository). Your instructor tells you how to
hand in: this repository, a zip of `exercises/`, or a notebook.
"""

WORKFLOW = """# Grades the exercises on every push: the table appears in the run's summary, and the
# result, as JSON, is kept as an artifact of the run.
name: grade
on: push

jobs:
  grade:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
          cache: pip
          cache-dependency-path: pyproject.toml
      - name: Install
        run: python -m pip install -e .
      - name: Grade
        run: |
          grade --json grade.json | tee grade.txt
          { echo '```'; cat grade.txt; echo '```'; } >> "$GITHUB_STEP_SUMMARY"
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: grade
          path: grade.json
"""

GITIGNORE = """.venv/
__pycache__/
*.egg-info/
.pytest_cache/
.ipynb_checkpoints/
grade.json
grade.txt
"""
