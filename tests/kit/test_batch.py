"""`grade batch`: entries, hashing, incremental re-runs, interruption, and a real mixed cohort.

The machinery (what is graded again, what survives an interruption) is tested with a fast
stand-in grader; `test_mixed_cohort` grades real submissions of every form end to end.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import signal
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from grader.cli.cohort import batch_command, summary_command
from grader.cohort.batch import BatchError, BatchReport, find_entries, run_batch, student_id
from grader.cohort.gradebook import COLUMNS, read_gradebook
from grader.grading.pipeline import Graded, GraderError, Setup, outcome_flags
from grader.grading.results import GradedExercise, GradedTest, Result
from grader.grading.rubric import RUBRIC, load_rubric
from grader.grading.runner import Run
from grader.grading.submission import Staged
from grader.kit import EXERCISES, kit_root
from grader.sandbox.errors import FAILURE_METADATA

ROOT = kit_root()


# --- entries -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "student"),
    [("alice", "alice"), ("bob.zip", "bob"), ("carol.IPYNB", "carol"), ("d.e.zip", "d.e"),
     ("x.tar.gz", "x.tar.gz")],
)
def test_student_id_is_the_entry_name_less_its_suffix(name: str, student: str) -> None:
    assert student_id(Path(name)) == student


def test_entries_skip_what_is_no_submission(tmp_path: Path) -> None:
    for folder in ("alice", "__MACOSX", "out"):
        (tmp_path / folder).mkdir()
    for name in ("bob.zip", "carol.ipynb", "notes.txt", ".DS_Store"):
        (tmp_path / name).write_text("x")
    entries, skipped = find_entries(tmp_path, tmp_path / "out" / "gradebook.csv")
    assert [(e.path.name, e.student) for e in entries] == [
        ("alice", "alice"), ("bob.zip", "bob"), ("carol.ipynb", "carol")
    ]
    assert len(skipped) == 3
    assert any("notes.txt" in line for line in skipped)


def test_two_entries_of_one_student_stop_the_batch(tmp_path: Path) -> None:
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice.zip").write_text("x")
    with pytest.raises(BatchError, match=r"alice, alice\.zip"):
        find_entries(tmp_path)


# --- the machinery, with a stand-in grader -------------------------------------------------------


class WatchedLog(io.StringIO):
    """The batch's log, noting when the batch says it was interrupted."""

    def __init__(self) -> None:
        super().__init__()
        self.interrupted = threading.Event()

    def write(self, text: str) -> int:
        if "interrupted" in text:
            self.interrupted.set()
        return super().write(text)


class FakeGrader:
    """Full points for an exercise file holding "# right", none otherwise; counts its calls.

    For `interrupt_on`, it sends itself SIGINT (as Ctrl-C would) and finishes only once the
    batch has seen it, as a real grading in progress would.
    """

    def __init__(self, interrupt_on: str | None = None, log: WatchedLog | None = None) -> None:
        self.graded: list[str] = []
        self.interrupt_on = interrupt_on
        self.log = log

    def __call__(self, setup: Setup, staged: Staged) -> Graded:
        student = staged.folder.name
        self.graded.append(student)
        if student == self.interrupt_on and self.log is not None:
            os.kill(os.getpid(), signal.SIGINT)
            assert self.log.interrupted.wait(timeout=30), "the batch did not see the interrupt"
        if student == "explodes":
            raise OSError("disk on fire")
        if student == "unstartable":
            raise GraderError("the sandbox did not start: no user namespaces")
        exercises = [
            GradedExercise(name, 10.0 if "# right" in (staged.folder / f"{name}.py").read_text()
                           else 0.0, 10.0)
            for name in staged.exercises
        ]
        score = sum(e.score for e in exercises)
        return Graded(Result(score, 10.0 * len(EXERCISES), exercises, []), [])


def make_cohort(folder: Path, students: dict[str, str]) -> Path:
    """One folder of exercise files per student; `content` goes into activations.py."""
    for student, content in students.items():
        (folder / student).mkdir(parents=True)
        (folder / student / "activations.py").write_text(content)
        (folder / student / "losses.py").write_text("# right\n")
    return folder


def batch(folder: Path, out: Path, grader: FakeGrader, **options) -> tuple[BatchReport, str]:
    stream = grader.log or WatchedLog()
    report = run_batch(folder, out / "gradebook.csv", stream=stream, grade=grader, jobs=1,
                       **options)
    return report, stream.getvalue()


@pytest.fixture
def cohort(tmp_path: Path) -> Path:
    return make_cohort(tmp_path / "subs", {"ann": "# right\n", "ben": "# wrong\n",
                                           "cat": "# right\n", "dan": "# wrong\n"})


def test_rows_and_outputs(cohort: Path, tmp_path: Path) -> None:
    report, log = batch(cohort, tmp_path / "out", FakeGrader())
    rows = {row.student: row for row in read_gradebook(tmp_path / "out" / "gradebook.csv")}
    assert rows["ann"].total == 20 and rows["ben"].total == 10
    assert set(rows["ann"].flags) == {f"missing:{e}" for e in EXERCISES[2:]}
    assert rows == {row.student: row for row in report.rows}
    for student in rows:
        folder = tmp_path / "out" / "students" / student
        result = json.loads((folder / "result.json").read_text())
        assert set(result) == {"score", "max_score", "exercises", "tests"}
        assert (folder / "feedback.txt").read_text().startswith(f"Grading of {student} (folder)")
    assert "4 submissions: 0 unchanged, 0 refused, 4 to grade" in log
    assert "[########################] 4/4" in log


def test_rerun_grades_only_what_changed(cohort: Path, tmp_path: Path) -> None:
    first = FakeGrader()
    batch(cohort, tmp_path / "out", first)
    before = (tmp_path / "out" / "gradebook.csv").read_text()
    again = FakeGrader()
    report, _ = batch(cohort, tmp_path / "out", again)
    assert again.graded == [] and sorted(report.kept) == ["ann", "ben", "cat", "dan"]
    assert (tmp_path / "out" / "gradebook.csv").read_text() == before
    (cohort / "ben" / "activations.py").write_text("# right\n")
    changed = FakeGrader()
    batch(cohort, tmp_path / "out", changed)
    assert changed.graded == ["ben"]
    assert read_gradebook(tmp_path / "out" / "gradebook.csv")[1].total == 20


def test_force_and_a_changed_kit_regrade_everyone(cohort: Path, tmp_path: Path) -> None:
    batch(cohort, tmp_path / "out", FakeGrader())
    forced = FakeGrader()
    batch(cohort, tmp_path / "out", forced, force=True)
    assert sorted(forced.graded) == ["ann", "ben", "cat", "dan"]
    longer = FakeGrader()
    batch(cohort, tmp_path / "out", longer, timeout=301)  # the time limit is part of the kit
    assert sorted(longer.graded) == ["ann", "ben", "cat", "dan"]


def test_interrupted_batch_keeps_what_it_finished(cohort: Path, tmp_path: Path) -> None:
    report, log = batch(cohort, tmp_path / "out", FakeGrader("ben", WatchedLog()))
    assert report.interrupted and "interrupted" in log
    finished = [row.student for row in read_gradebook(tmp_path / "out" / "gradebook.csv")]
    assert finished == ["ann", "ben"]
    rest = FakeGrader()
    batch(cohort, tmp_path / "out", rest)
    assert rest.graded == ["cat", "dan"]


def test_grader_failure_is_flagged_without_points_and_retried(tmp_path: Path) -> None:
    cohort = make_cohort(tmp_path / "subs", {"explodes": "# right\n", "fine": "# right\n",
                                             "unstartable": "# right\n"})
    report, _ = batch(cohort, tmp_path / "out", FakeGrader())
    rows = {row.student: row for row in report.rows}
    for student in ("explodes", "unstartable"):
        assert rows[student].flags == ("grader-error",) and rows[student].total is None
    assert report.grader_errors == ["explodes", "unstartable"]
    csv_rows = {line.split(",")[0]: line for line in
                (tmp_path / "out" / "gradebook.csv").read_text().splitlines()}
    assert csv_rows["unstartable"].startswith("unstartable,,,,,,,,"), csv_rows["unstartable"]
    assert rows["fine"].total == 20.0
    feedback = (tmp_path / "out" / "students" / "explodes" / "feedback.txt").read_text()
    assert "OSError: disk on fire" in feedback and "not graded" in feedback
    feedback = (tmp_path / "out" / "students" / "unstartable" / "feedback.txt").read_text()
    assert "no user namespaces" in feedback
    again = FakeGrader()
    batch(cohort, tmp_path / "out", again)
    assert again.graded == ["explodes", "unstartable"]


def test_refused_entry_gets_a_zero_row_with_its_reason(tmp_path: Path) -> None:
    cohort = make_cohort(tmp_path / "subs", {"ann": "# right\n"})
    (cohort / "empty").mkdir()
    with zipfile.ZipFile(cohort / "sneaky.zip", "w") as archive:
        archive.writestr("../activations.py", "# right\n")
    report, log = batch(cohort, tmp_path / "out", FakeGrader())
    rows = {row.student: row for row in report.rows}
    assert rows["empty"].flags == ("refused",) and rows["sneaky"].flags == ("refused",)
    assert rows["sneaky"].total == 0 and rows["sneaky"].max_total == 100
    assert "points outside the folder" in (
        tmp_path / "out" / "students" / "sneaky" / "feedback.txt").read_text()
    assert "refused sneaky.zip" in log


def test_output_inside_the_batch_folder_is_not_an_entry(cohort: Path) -> None:
    batch(cohort, cohort / "grades", FakeGrader())
    again = FakeGrader()
    report, log = batch(cohort, cohort / "grades", again)
    assert again.graded == [] and "skipped" not in log
    assert len(report.rows) == 4


TEST_ID = "tests/public/test_sgd.py::t"


def graded(outcome: str, message: str = "") -> GradedTest:
    return GradedTest(TEST_ID, "sgd", "public", outcome, 0.0, 1.0, message)


def report(kind: str | None = None, when: str = "call") -> dict[str, Any]:
    """A report of the one test, failed at `when`; with the sandbox failure of that kind."""
    entry: dict[str, Any] = {"nodeid": TEST_ID, "outcome": "failed",
                             when: {"outcome": "failed"}}
    if kind is not None:
        entry["metadata"] = {FAILURE_METADATA: {when: {"kind": kind, "message": "..."}}}
    return {"tests": [entry]}


DIED = "the submission's process died (exit code 3) during the import"
KILLED = "the submission's process was killed by SIGSEGV during step"


@pytest.mark.parametrize(
    ("run", "tests", "flags"),
    [
        (Run({"tests": []}, exit_codes=[0]), [graded("passed")], []),
        (Run(report(), exit_codes=[1]), [graded("failed", "sgd.step: expected 1.0")], []),
        (Run(report("timeout"), exit_codes=[1]),
         [graded("timeout", "step did not finish within 10 s")], ["timeout"]),
        (Run({"tests": []}, timed_out=True, exit_codes=[-9]), [], ["timeout"]),
        (Run(report("crashed", "setup"), exit_codes=[1]), [graded("error", DIED)],
         ["crashed"]),
        (Run(report("crashed"), exit_codes=[1]), [graded("failed", KILLED)], ["crashed"]),
        # Decided by the recorded kind, never by the words of the message.
        (Run(report(), exit_codes=[1]), [graded("failed", KILLED)], []),
        (Run(report("object-lost"), exit_codes=[1]),
         [graded("failed", "Perceptron lived in the submission's previous process")], []),
        (Run({"tests": []}, exit_codes=[-11]), [], ["crashed"]),
    ],
    ids=["clean", "failed", "call-timeout", "run-timeout", "died-at-import", "killed",
         "crash-words-only", "object-lost", "pytest"],
)
def test_outcome_flags(run: Run, tests: list[GradedTest], flags: list[str]) -> None:
    assert outcome_flags(run, Result(0.0, 1.0, [], tests)) == flags


def test_bad_calls_exit_2_with_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    bad_shard = runner.invoke(batch_command, [str(tmp_path), "--out", "g.csv", "--shard", "3/2"])
    assert bad_shard.exit_code == 2 and "K must be between 1 and N" in bad_shard.output
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice.zip").write_text("x")
    clash = runner.invoke(batch_command, [str(tmp_path), "--out", str(tmp_path / "g.csv")])
    assert clash.exit_code == 2, clash.output
    assert clash.output.strip().splitlines()[-1].startswith("Error: two entries for one student")


def test_summary_command(cohort: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    batch(cohort, tmp_path / "out", FakeGrader())
    gradebook = str(tmp_path / "out" / "gradebook.csv")
    shown = CliRunner().invoke(summary_command, [gradebook])
    assert shown.exit_code == 0, shown.output
    assert "4 students" in shown.output and "activations     5.00 / 15" in shown.output
    if importlib.util.find_spec("matplotlib") is not None:
        drawn = CliRunner().invoke(summary_command, [gradebook, "--png", str(tmp_path / "t.png")])
        assert drawn.exit_code == 0 and (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as where it is not installed
    refused = CliRunner().invoke(summary_command, [gradebook, "--png", str(tmp_path / "u.png")])
    assert refused.exit_code == 2 and "--png needs matplotlib" in refused.output


# --- a real cohort: every form, right and wrong and hostile ---------------------------------------

HOSTILE_EXIT = "import os\nos._exit(3)\n"
HOSTILE_LOOP = "while True:\n    pass\n"


def notebook_of(exercises: list[str]) -> dict:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# My answers"},
             {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
              "source": "raise SystemExit('untagged cells never run')"}]
    for name in exercises:
        cells.append({"cell_type": "code", "metadata": {"tags": [f"exercise:{name}"]},
                      "execution_count": None, "outputs": [],
                      "source": (ROOT / "solutions" / f"{name}.py").read_text()})
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def build_mixed_cohort(folder: Path) -> dict[str, dict]:
    """The submissions, and what each row must show: exercises at full marks, flags."""
    solutions, stubs = ROOT / "solutions", ROOT / "exercises"
    folder.mkdir()

    def files(student: str, right: list[str], stubbed: list[str]) -> Path:
        (folder / student).mkdir()
        for name in right:
            shutil.copy(solutions / f"{name}.py", folder / student / f"{name}.py")
        for name in stubbed:
            shutil.copy(stubs / f"{name}.py", folder / student / f"{name}.py")
        return folder / student

    shutil.copytree(solutions, folder / "correct" / "exercises",
                    ignore=shutil.ignore_patterns("__pycache__"))
    files("partial", ["activations", "losses", "matmul"], ["perceptron", "sgd", "backprop"])
    broken = files("broken", [n for n in EXERCISES if n != "losses"], [])
    (broken / "losses.py").write_text("def mse(pred, target)\n    return 0\n")
    files("missing", ["activations", "losses", "perceptron", "sgd"], [])
    (folder / "notebook.ipynb").write_text(json.dumps(notebook_of(["activations", "losses"])))
    zipped = files("zipped_src", list(EXERCISES), [])
    with zipfile.ZipFile(folder / "zipped.zip", "w") as archive:
        for path in sorted(zipped.iterdir()):
            archive.write(path, f"zipped/{path.name}")
    shutil.rmtree(zipped)
    exits = files("hostile_exit", [n for n in EXERCISES if n != "perceptron"], [])
    (exits / "perceptron.py").write_text(HOSTILE_EXIT)
    loops = files("hostile_loop", [n for n in EXERCISES if n != "sgd"], [])
    (loops / "sgd.py").write_text(HOSTILE_LOOP)
    (folder / "README.txt").write_text("not a submission")
    every = set(EXERCISES)
    return {
        "correct": {"full": every, "flags": set()},
        "partial": {"full": {"activations", "losses", "matmul"}, "flags": set()},
        # sgd and backprop import losses: they go down with it.
        "broken": {"full": every - {"losses", "sgd", "backprop"}, "flags": set()},
        "missing": {"full": every - {"backprop", "matmul"},
                    "flags": {"missing:backprop", "missing:matmul"}},
        "notebook": {"full": {"activations", "losses"},
                     "flags": {f"missing:{n}" for n in EXERCISES[2:]}},
        "zipped": {"full": every, "flags": set()},
        # Hostile code costs its own exercise only: the rest is graded as usual.
        "hostile_exit": {"full": every - {"perceptron"}, "flags": {"crashed"}},
        "hostile_loop": {"full": every - {"sgd"}, "flags": {"timeout"}},
    }


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict], str]:
    """The mixed cohort graded once, through the command: (gradebook, expectations, stderr)."""
    work = tmp_path_factory.mktemp("mixed")
    expected = build_mixed_cohort(work / "subs")
    out = work / "grades" / "gradebook.csv"
    outcome = CliRunner().invoke(
        batch_command, [str(work / "subs"), "--out", str(out), "-j", "2", "--timeout", "240"]
    )
    assert outcome.exit_code == 0, outcome.output
    return out, expected, outcome.output


def test_mixed_cohort_every_row(mixed: tuple[Path, dict[str, dict], str]) -> None:
    out, expected, _ = mixed
    points = load_rubric(ROOT / RUBRIC).points
    text = out.read_text()
    assert text.splitlines()[0] == ",".join(COLUMNS)
    rows = {row.student: row for row in read_gradebook(out)}
    assert sorted(rows) == sorted(expected)
    for student, want in expected.items():
        row = rows[student]
        full = {name for name in EXERCISES if row.points[name] == points[name]}
        assert full == want["full"], f"{student}: full marks in {sorted(full)}"
        assert row.total == pytest.approx(sum(row.points.values()), abs=0.05), student
        assert row.max_total == sum(points.values()), student
        assert set(row.flags) == want["flags"], f"{student}: flags {row.flags}"
        assert 0 < row.seconds < 240, student


def test_mixed_cohort_outputs_and_log(mixed: tuple[Path, dict[str, dict], str]) -> None:
    out, expected, log = mixed
    assert "skipped README.txt" in log
    assert f"{out}: {len(expected)} students ({len(expected)} graded" in log
    feedback = {s: (out.parent / "students" / s / "feedback.txt").read_text() for s in expected}
    assert "losses.py does not compile" in feedback["broken"]
    assert "the submission's process died (exit code 3)" in feedback["hostile_exit"]
    assert "did not finish within" in feedback["hostile_loop"]
    for student in expected:
        result = json.loads((out.parent / "students" / student / "result.json").read_text())
        assert [e["name"] for e in result["exercises"]] == list(EXERCISES)
        assert {t["outcome"] for t in result["tests"]} <= {"passed", "failed", "error", "timeout",
                                                           "skipped"}


def test_summary_of_the_mixed_cohort(mixed: tuple[Path, dict[str, dict], str]) -> None:
    out, expected, _ = mixed
    outcome = CliRunner().invoke(summary_command, [str(out)])
    assert outcome.exit_code == 0, outcome.output
    assert f"{len(expected)} students" in outcome.output
    assert "tests most often failed" in outcome.output


def test_mixed_cohort_rerun_grades_nothing(mixed: tuple[Path, dict[str, dict], str]) -> None:
    out, expected, _ = mixed
    before = out.read_text()
    subs = out.parent.parent / "subs"
    again = CliRunner().invoke(batch_command, [str(subs), "--out", str(out), "--timeout", "240"])
    assert again.exit_code == 0, again.output
    assert f"(0 graded, {len(expected)} unchanged, 0 refused)" in again.output
    assert out.read_text() == before
