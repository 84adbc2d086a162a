"""Turn any submission of the contract into a staging folder holding only its exercise files.

A submission is a checkout (a folder holding `exercises/`), a folder of exercise files
(`activations.py`, ...), a `.zip` of either (at most one top-level folder), or a `.ipynb` whose
code cells are tagged `exercise:<name>`. Whatever the form, the staging folder ends up with
`<exercise>.py` files and nothing else: no conftest, ini or helper of the submission reaches the
grader. What is unsafe (zip entries outside the folder, links, oversized files) is refused
with a one-line SubmissionError; so is anything that holds no exercise file at all. A single
missing exercise file is not an error: that exercise scores 0.
"""

from __future__ import annotations

import os
import re
import stat
import warnings
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from grader.grading.dependencies import exercise_uses
from grader.kit import EXERCISES

MAX_FILE_BYTES = 1 << 20  # one exercise file (1 MiB: far above any honest solution)
MAX_TOTAL_BYTES = 10 << 20  # a whole zip unpacked, or a notebook
EXERCISE_FILES = {f"{name}.py": name for name in EXERCISES}
TAG = "exercise:"
MAGIC = re.compile(r"^(\s*)[%!]")
FUTURE = re.compile(r"^from __future__ import .*$", re.MULTILINE)


class SubmissionError(Exception):
    """The submission cannot be read or is refused; the message is one line saying why."""


@dataclass(frozen=True)
class Staged:
    """A staged submission: `folder` holds `<exercise>.py` for each name in `exercises`.

    `uses`: exercise -> the other exercises its file uses (grader.grading.dependencies), read
    from the staged source here, where it is at hand and before any of it runs.
    """

    folder: Path
    kind: str
    exercises: tuple[str, ...]
    notes: tuple[str, ...] = ()
    uses: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def stage_submission(path: Path, dest: Path) -> Staged:
    """Stage the submission at `path` into the new folder `dest`."""
    notes: tuple[str, ...] = ()
    if not path.exists():
        raise SubmissionError(f"{path} does not exist")
    if path.is_dir():
        kind, files = folder_files(path)
    elif path.suffix.lower() == ".zip":
        kind, files = zip_files(path)
    elif path.suffix.lower() == ".ipynb":
        kind = "notebook"
        files, notes = notebook_files(path)
    else:
        raise SubmissionError(
            f"{path.name} is not a submission: give a checkout, a folder of exercise files, "
            "a .zip of either, or a .ipynb"
        )
    if not files:
        raise SubmissionError(f"{path.name} holds no exercise file ({', '.join(EXERCISE_FILES)})")
    dest.mkdir(parents=True)
    for name, content in files.items():
        (dest / name).write_bytes(content)
    staged = tuple(n for n in EXERCISES if f"{n}.py" in files)
    uses = exercise_uses({n: files[f"{n}.py"] for n in staged})
    return Staged(dest, kind, staged, notes, uses)


def read_limited(path: Path, shown: str) -> bytes:
    """A regular file's bytes; links, devices and files over MAX_FILE_BYTES are refused."""
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        raise SubmissionError(f"{shown} is a link: submit the file itself")
    if not stat.S_ISREG(mode):
        raise SubmissionError(f"{shown} is not a regular file")
    with path.open("rb") as handle:
        content = handle.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        raise SubmissionError(f"{shown} is over the {MAX_FILE_BYTES >> 20} MiB limit of a file")
    return content


def folder_files(folder: Path) -> tuple[str, dict[str, bytes]]:
    """(kind, file name -> content) of a checkout or a folder of exercise files."""
    exercises = folder / "exercises"
    if exercises.is_symlink():
        raise SubmissionError("exercises/ is a link: submit the folder itself")
    if exercises.is_dir():
        kind, source, prefix = "checkout", exercises, "exercises/"
    elif any(os.path.lexists(folder / name) for name in EXERCISE_FILES):
        kind, source, prefix = "folder", folder, ""
    else:
        raise SubmissionError(
            f"{folder.name}/ holds neither exercises/ nor an exercise file "
            f"({', '.join(EXERCISE_FILES)})"
        )
    files = {
        name: read_limited(source / name, prefix + name)
        for name in EXERCISE_FILES
        if os.path.lexists(source / name)
    }
    return kind, files


def entry_parts(info: zipfile.ZipInfo) -> tuple[str, ...]:
    """The path parts of a zip entry; entries that could land outside the folder are refused."""
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise SubmissionError(f"zip entry {info.filename!r} has an absolute path: refused")
    parts = tuple(p for p in PurePosixPath(name).parts if p not in ("", "."))
    if ".." in parts:
        raise SubmissionError(f"zip entry {info.filename!r} points outside the folder: refused")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise SubmissionError(f"zip entry {info.filename!r} is a link: refused")
    return parts


def zip_layout(entries: Iterable[tuple[str, ...]]) -> tuple[str, tuple[str, ...]]:
    """(kind, folder parts) of the exercise files among a zip's file entries.

    One top-level folder holding everything is looked into; then exercises/ (a checkout) comes
    before loose exercise files.
    """
    files = [p for p in entries if p and p[0] != "__MACOSX"]
    tops = {p[0] for p in files}
    base: tuple[str, ...] = ()
    if len(tops) == 1 and all(len(p) > 1 for p in files):
        base = (next(iter(tops)),)
    inside = {p[len(base):] for p in files}
    if any(("exercises", name) in inside for name in EXERCISE_FILES):
        return "zip of a checkout", (*base, "exercises")
    if any((name,) in inside for name in EXERCISE_FILES):
        return "zip of exercise files", base
    if len({p[0] for p in inside if len(p) > 1}) > 1:
        raise SubmissionError(
            "the zip holds several top-level folders and no exercise file: zip one checkout "
            "or its exercise files"
        )
    raise SubmissionError(f"the zip holds no exercise file ({', '.join(EXERCISE_FILES)})")


def zip_files(path: Path) -> tuple[str, dict[str, bytes]]:
    """(kind, file name -> content) of a zipped checkout or folder of exercise files."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir()]
            parts = {info.filename: entry_parts(info) for info in infos}
            unpacked = sum(info.file_size for info in infos)
            if unpacked > MAX_TOTAL_BYTES:
                raise SubmissionError(
                    f"the zip unpacks to {unpacked >> 20} MiB, over the "
                    f"{MAX_TOTAL_BYTES >> 20} MiB limit: zip only your exercise files"
                )
            kind, folder = zip_layout(parts.values())
            files = {}
            for info in infos:
                *where, name = parts[info.filename]
                if tuple(where) == folder and name in EXERCISE_FILES:
                    files[name] = read_zip_entry(archive, info)
            return kind, files
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, RuntimeError) as err:
        # RuntimeError: an encrypted entry.
        raise SubmissionError(f"{path.name} is not a readable zip: {err}") from None


def read_zip_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """An entry's bytes, refusing more than MAX_FILE_BYTES whatever its header claims."""
    with archive.open(info) as handle:
        content = handle.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        raise SubmissionError(
            f"zip entry {info.filename!r} is over the {MAX_FILE_BYTES >> 20} MiB limit of a file"
        )
    return content


def notebook_files(path: Path) -> tuple[dict[str, bytes], tuple[str, ...]]:
    """(file name -> generated module, notes) of a notebook."""
    import nbformat

    if path.stat().st_size > MAX_TOTAL_BYTES:
        raise SubmissionError(f"{path.name} is over the {MAX_TOTAL_BYTES >> 20} MiB limit")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat warns about old notebooks it can read
            notebook = nbformat.read(path, as_version=4)
    except Exception as err:  # nbformat raises many kinds: the notebook is unreadable
        raise SubmissionError(f"{path.name} is not a valid notebook: {err}") from None
    cells, notes = tagged_cells(notebook)
    modules = {
        f"{name}.py": exercise_module(name, sources, [n for n in EXERCISES[:i] if n in cells])
        for i, name in enumerate(EXERCISES)
        if (sources := cells.get(name))
    }
    for name, text in modules.items():
        if len(text.encode()) > MAX_FILE_BYTES:
            raise SubmissionError(f"the cells of {name} are over the 1 MiB limit of a file")
    return {name: text.encode() for name, text in modules.items()}, notes


def tagged_cells(notebook: Mapping[str, Any]) -> tuple[dict[str, list[str]], tuple[str, ...]]:
    """Exercise -> the sources of the code cells tagged `exercise:<name>`, in order; notes.

    Untagged cells are never taken: only what a student marked as an answer is graded.
    """
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        raise SubmissionError("the notebook has no list of cells")
    found: dict[str, list[str]] = {}
    unknown: set[str] = set()
    for cell in cells:
        if not isinstance(cell, Mapping) or cell.get("cell_type") != "code":
            continue
        metadata = cell.get("metadata")
        tags = metadata.get("tags", []) if isinstance(metadata, Mapping) else []
        for tag in tags if isinstance(tags, list) else []:
            if not (isinstance(tag, str) and tag.startswith(TAG)):
                continue
            name = tag[len(TAG):].strip()
            if name not in EXERCISES:
                unknown.add(name)
                continue
            source = cell.get("source", "")
            found.setdefault(name, []).append(
                "".join(source) if isinstance(source, list) else str(source)
            )
    notes = tuple(f"cells tagged {TAG}{name} are ignored: no such exercise" for name in
                  sorted(unknown))
    return found, notes


def without_magics(source: str) -> str:
    """IPython magics and shell lines (`%time`, `!pip ...`) become `pass`, at their indent."""
    return "\n".join(
        f"{m.group(1)}pass" if (m := MAGIC.match(line)) else line for line in source.splitlines()
    )


def exercise_module(name: str, sources: list[str], earlier: list[str]) -> str:
    """The module of one exercise from its notebook cells.

    As in the notebook, a cell may use what earlier exercises' cells defined: each earlier
    exercise is star-imported, guarded so that a broken one costs only itself. `from __future__`
    lines move to the top, where Python requires them.
    """
    cells = [without_magics(s) for s in sources]
    futures = sorted({line for cell in cells for line in FUTURE.findall(cell)})
    body = "\n\n".join(FUTURE.sub("pass", cell) for cell in cells)
    imports = "".join(
        f"try:\n    from .{e} import *  # noqa: F403\nexcept Exception:\n    pass\n"
        for e in earlier
    )
    header = f"# {name}: the notebook's cells tagged {TAG}{name}, in order (written by grade).\n"
    return "\n".join([header, *futures, "import numpy as np", "", imports, body, ""])
