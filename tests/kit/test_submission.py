"""Every form of submission stages to a folder of exercise files; what is unsafe is refused."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.grading.submission import (
    MAX_FILE_BYTES,
    Staged,
    SubmissionError,
    exercise_module,
    stage_submission,
    tagged_cells,
    without_magics,
)
from grader.sandbox.runtime.loading import load_exercise

ACTIVATIONS = "import numpy as np\n\ndef relu(z):\n    return np.maximum(z, 0)\n"
LOSSES = "from .activations import relu\n\ndef mse(p, t):\n    return float(((p - t) ** 2).mean())"


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def stage(path: Path, tmp_path: Path) -> Staged:
    return stage_submission(path, tmp_path / "staged")


def staged_names(staged: Staged) -> list[str]:
    return sorted(p.name for p in staged.folder.iterdir())


def test_a_checkout_stages_its_exercise_files_only(tmp_path: Path) -> None:
    checkout = write(tmp_path / "alice", {
        "exercises/activations.py": ACTIVATIONS, "exercises/losses.py": LOSSES,
        "exercises/conftest.py": "raise SystemExit", "solutions/sgd.py": "x = 1",
        "pytest.ini": "[pytest]\naddopts = -x\n", "exercises/helpers.py": "",
    })
    staged = stage(checkout, tmp_path)
    assert staged.kind == "checkout" and staged.exercises == ("activations", "losses")
    assert staged_names(staged) == ["activations.py", "losses.py"]


def test_a_folder_of_exercise_files_stages_them(tmp_path: Path) -> None:
    folder = write(tmp_path / "bob", {"losses.py": LOSSES, "conftest.py": "", "notes.txt": "hi"})
    staged = stage(folder, tmp_path)
    assert (staged.kind, staged_names(staged)) == ("folder", ["losses.py"])
    assert (staged.folder / "losses.py").read_text() == LOSSES


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "nowhere", "does not exist"),
        (lambda p: write(p, {"work.txt": "x"}) / "work.txt", "is not a submission"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "holds neither exercises/"),
        (lambda p: (p / "co" / "exercises").mkdir(parents=True) or p / "co",
         "holds no exercise file"),
    ],
    ids=["missing", "other-file", "empty-folder", "empty-exercises"],
)
def test_what_is_no_submission_is_refused_in_one_line(make, message: str, tmp_path: Path) -> None:
    with pytest.raises(SubmissionError, match=message) as caught:
        stage(make(tmp_path), tmp_path)
    assert "\n" not in str(caught.value)


def test_a_linked_exercise_file_is_refused(tmp_path: Path) -> None:
    folder = write(tmp_path / "eve", {"activations.py": ACTIVATIONS})
    (folder / "losses.py").symlink_to(tmp_path / "elsewhere.py")
    with pytest.raises(SubmissionError, match=r"losses\.py is a link"):
        stage(folder, tmp_path)


def test_an_oversized_exercise_file_is_refused(tmp_path: Path) -> None:
    folder = write(tmp_path / "big", {"losses.py": "#" * (MAX_FILE_BYTES + 1)})
    with pytest.raises(SubmissionError, match="over the 1 MiB limit"):
        stage(folder, tmp_path)


def make_zip(path: Path, entries: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return path


def test_a_zipped_checkout_in_one_folder_stages_its_exercises(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "carol.zip", {
        "carol/exercises/losses.py": LOSSES, "carol/exercises/activations.py": ACTIVATIONS,
        "carol/solutions/sgd.py": "x = 1", "carol/README.md": "",
    })
    staged = stage(archive, tmp_path)
    assert staged.kind == "zip of a checkout" and staged.exercises == ("activations", "losses")


def test_zipped_exercise_files_at_the_root_stage_and_mac_junk_is_ignored(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "dan.zip", {
        "losses.py": LOSSES, "__MACOSX/._losses.py": b"\x00\x05", "conftest.py": "",
    })
    staged = stage(archive, tmp_path)
    assert (staged.kind, staged_names(staged)) == ("zip of exercise files", ["losses.py"])


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"losses.py": LOSSES, "../escape.py": "x"}, "points outside the folder"),
        ({"losses.py": LOSSES, "a/../../escape.py": "x"}, "points outside the folder"),
        ({"losses.py": LOSSES, "/etc/evil.py": "x"}, "absolute path"),
        ({"losses.py": LOSSES, "C:/evil.py": "x"}, "absolute path"),
        ({"losses.py": "#" * (MAX_FILE_BYTES + 1)}, "over the 1 MiB limit"),
        ({f"data{i}.bin": b"\0" * MAX_FILE_BYTES for i in range(11)}, "over the 10 MiB limit"),
        ({"a/exercises/losses.py": LOSSES, "b/exercises/losses.py": LOSSES}, "several top-level"),
        ({"README.md": "nothing here"}, "holds no exercise file"),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "drive", "big-file", "big-total", "two-folders",
         "no-exercise"],
)
def test_an_unsafe_or_empty_zip_is_refused(entries, message: str, tmp_path: Path) -> None:
    with pytest.raises(SubmissionError, match=message):
        stage(make_zip(tmp_path / "x.zip", entries), tmp_path)


def test_a_link_in_a_zip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "link.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("losses.py", LOSSES)
        link = zipfile.ZipInfo("activations.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "../../solutions/activations.py")
    with pytest.raises(SubmissionError, match="is a link"):
        stage(path, tmp_path)


def test_a_file_that_is_no_zip_is_refused(tmp_path: Path) -> None:
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(SubmissionError, match="not a readable zip"):
        stage(tmp_path / "broken.zip", tmp_path)


def code(source: str, *tags: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source, metadata={"tags": list(tags)} if tags else {})


def notebook(path: Path, *cells: nbformat.NotebookNode) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Week 1"), *cells])
    nbformat.write(nb, path)
    return path


def test_a_notebook_stages_its_tagged_cells_and_never_its_untagged_ones(tmp_path: Path) -> None:
    path = notebook(
        tmp_path / "week1.ipynb",
        code("raise SystemExit('an untagged cell ran')"),
        code("%matplotlib inline\ndef relu(z):\n    return np.maximum(z, 0)",
             "exercise:activations"),
        code("!pip install something\ndef relu_twice(z):\n    return 2 * relu(z)",
             "exercise:activations"),
        code("def mse(p, t):\n    return float(((p - t) ** 2).mean() + 0 * relu(p).sum())",
             "exercise:losses"),
        code("x = 1", "exercise:nonsense"),
    )
    staged = stage(path, tmp_path)
    assert staged.kind == "notebook" and staged.exercises == ("activations", "losses")
    assert staged.notes == ("cells tagged exercise:nonsense are ignored: no such exercise",)
    activations = load_exercise(staged.folder, "activations")
    assert activations.relu_twice(-1.0) == 0.0 and activations.relu_twice(2.0) == 4.0
    losses = load_exercise(staged.folder, "losses")  # uses relu from the activations cells
    import numpy as np

    assert losses.mse(np.array([1.0, 2.0]), np.array([1.0, 0.0])) == 2.0


def test_a_broken_earlier_exercise_costs_only_itself(tmp_path: Path) -> None:
    path = notebook(
        tmp_path / "nb.ipynb",
        code("def relu(z) return z", "exercise:activations"),
        code("def mse(p, t):\n    return 0.0", "exercise:losses"),
    )
    staged = stage(path, tmp_path)
    assert load_exercise(staged.folder, "losses").mse(1, 2) == 0.0


def test_future_imports_move_to_the_top_of_the_module() -> None:
    text = exercise_module("losses", ['"""Doc."""\nfrom __future__ import annotations\nx: int = 1'],
                           ["activations"])
    compile(text, "losses.py", "exec")
    assert text.index("from __future__") < text.index("import numpy")


def test_magics_become_pass_at_their_indent() -> None:
    assert without_magics("if x:\n    %time f()\n!ls\ny = 1") == "if x:\n    pass\npass\ny = 1"


def test_cells_of_one_exercise_are_joined_in_order() -> None:
    tags = {"tags": ["exercise:sgd"]}
    nb = {"cells": [
        {"cell_type": "code", "source": ["a = 1\n", "b = 2"], "metadata": tags},
        {"cell_type": "markdown", "source": "x", "metadata": tags},
        {"cell_type": "code", "source": "c = 3", "metadata": tags},
    ]}
    assert tagged_cells(nb) == ({"sgd": ["a = 1\nb = 2", "c = 3"]}, ())


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not a valid notebook"), (None, "holds no exercise file")],
    ids=["not-json", "no-tagged-cell"],
)
def test_an_unreadable_or_untagged_notebook_is_refused(content, message, tmp_path: Path) -> None:
    path = tmp_path / "nb.ipynb"
    if content is None:
        notebook(path, code("def relu(z):\n    return z"))
    else:
        path.write_text(content)
    with pytest.raises(SubmissionError, match=message):
        stage(path, tmp_path)
