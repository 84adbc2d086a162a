"""`grade` and `grade batch` give the same result however they are started.

A launch condition is what a caller's shell, launcher or CI runner may change: the locale
(`LC_ALL=C`), no `HOME`, a `TMPDIR` with a space, standard input closed, SIGINT ignored (as
nohup-style launchers and some CI and cron runners leave it), a background job of a script
(SIGINT ignored, standard input from /dev/null), and kit and submission paths with spaces and
non-ASCII letters. Under each, a run past its time limit stops at the limit and keeps the tests
it finished: the same result as a plain foreground run's, and a batch interrupted with Ctrl-C
keeps the gradings it finished or had started.

The submission hangs in the fourth test of `activations`: the three before it finish well within
the limit, the hang reaches it, and nothing after it runs, so the result does not depend on the
machine's speed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from grader.cohort.gradebook import Row, read_gradebook
from grader.grading.runner import INTERRUPT_GRACE_S
from grader.kit import kit_root

ROOT = kit_root()
TIMEOUT_S = 4.0
NOTE = f"The test run hit its time limit ({TIMEOUT_S:g} s): unfinished tests score 0."
FINISHED = ["test_sigmoid_values", "test_tanh_values", "test_relu_values"]
# What a caller's launcher adds to the grader's own time: Python's start, staging, scoring.
STARTUP_S = 10.0
ODD_FOLDER = "Zoë's files ü"


@dataclass(frozen=True)
class Launch:
    """How the grader is started.

    `script`: a bash script that runs the grader's command line ("$@"), or None to start it
    directly; `env`: changes to the environment (None unsets); `tmpdir_with_space`: TMPDIR is a
    folder whose name has a space; `odd_paths`: the kit (a copy) and the submissions lie in a
    folder whose name has spaces and non-ASCII letters.
    """

    script: str | None = None
    env: tuple[tuple[str, str | None], ...] = ()
    tmpdir_with_space: bool = False
    odd_paths: bool = False


FOREGROUND = Launch()
CLOSED_STDIN = 'exec "$@" <&-'
# A non-interactive shell's background job starts with SIGINT (and SIGQUIT) ignored and its
# standard input from /dev/null; the file tells the test the grader's process id.
BACKGROUND = '"$@" & echo $! > "$GRADE_PID_FILE"; wait $!'
CONDITIONS = {
    "LC_ALL=C": Launch(env=(("LC_ALL", "C"),)),
    "no HOME": Launch(env=(("HOME", None),)),
    "TMPDIR with a space": Launch(tmpdir_with_space=True),
    "stdin closed": Launch(script=CLOSED_STDIN),
    "odd paths": Launch(odd_paths=True),
    "SIGINT ignored": Launch(script='trap "" INT; exec "$@"'),
    "background job": Launch(script=BACKGROUND),
}
# A batch costs seconds more than `grade`: it runs under the signal conditions, where its own
# code differs, and under the others all at once.
BATCH_CONDITIONS = {
    "SIGINT ignored": CONDITIONS["SIGINT ignored"],
    "background job": CONDITIONS["background job"],
    "environment, stdin and paths": Launch(
        script=CLOSED_STDIN, env=(("LC_ALL", "C"), ("HOME", None)), tmpdir_with_space=True,
        odd_paths=True),
}


@pytest.fixture(scope="module")
def odd_kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the kit, with what grading reads, in a folder named with odd characters.

    Its bytecode comes along: compiling the grader anew would take a slow machine's first
    tests past the time limit.
    """
    copy = tmp_path_factory.mktemp("kit") / ODD_FOLDER / "dl kit ü"
    for folder in ("grader", "solutions", "tests/public", "tests/hidden"):
        shutil.copytree(ROOT / folder, copy / folder)
    for file in ("pyproject.toml", "tests/manifest.json", "tests/rubric.toml"):
        shutil.copy(ROOT / file, copy / file)
    return copy


def hanging_submission(folder: Path, hangs: str = "relu_grad") -> Path:
    """The reference's activations, except the function `hangs`: relu_grad (the fourth test's)
    by default."""
    folder.mkdir(parents=True)
    source = (ROOT / "solutions" / "activations.py").read_text()
    hanging = f"\n\ndef {hangs}(z):\n    import time\n\n    time.sleep(3600)\n"
    (folder / "activations.py").write_text(source + hanging)
    return folder


@dataclass
class Started:
    process: subprocess.Popen[str]
    began: float
    pid_file: Path | None = None

    def grader_pid(self) -> int:
        """The grader's process id: the shell's background job's, or the process started."""
        if self.pid_file is None:
            return self.process.pid
        deadline = time.monotonic() + 30
        while not self.pid_file.exists() or not self.pid_file.read_text().strip():
            assert self.process.poll() is None and time.monotonic() < deadline, self.finish()
            time.sleep(0.05)
        return int(self.pid_file.read_text())

    def finish(self, limit: float = 120) -> tuple[int, str, str, float]:
        """(exit status, stdout, stderr, seconds since the start)."""
        out, err = self.process.communicate(timeout=limit)
        return self.process.returncode, out, err, time.monotonic() - self.began


def start(launch: Launch, kit: Path, tmp: Path, *args: str) -> Started:
    """Start `python -m grader.cli ARGS` in `kit` as `launch` says."""
    env = dict(os.environ)
    for name, value in launch.env:
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    if launch.tmpdir_with_space:
        (tmp / "temp files").mkdir()
        env["TMPDIR"] = str(tmp / "temp files")
    pid_file = tmp / "grade.pid" if launch.script == BACKGROUND else None
    if pid_file is not None:
        env["GRADE_PID_FILE"] = str(pid_file)
    command = [sys.executable, "-m", "grader.cli", *args]
    if launch.script is not None:
        command = ["bash", "-c", launch.script, "bash", *command]
    began = time.monotonic()
    process = subprocess.Popen(command, cwd=kit, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, encoding="utf-8", errors="replace")
    return Started(process, began, pid_file)


def place(launch: Launch, tmp: Path, request: pytest.FixtureRequest) -> tuple[Path, Path]:
    """(the kit, the folder for the submissions) of `launch`."""
    if launch.odd_paths:
        return request.getfixturevalue("odd_kit"), tmp / ODD_FOLDER
    return ROOT, tmp / "files"


# --- grade -------------------------------------------------------------------------------------


@dataclass
class Graded:
    result: dict[str, Any]
    output: str
    seconds: float


def grade(launch: Launch, tmp: Path, request: pytest.FixtureRequest) -> Graded:
    kit, files = place(launch, tmp, request)
    submission = hanging_submission(files / "submission")
    target = files / "result.json"
    code, out, err, seconds = start(
        launch, kit, tmp, "--submission", str(submission), "--exercise", "activations",
        "--timeout", f"{TIMEOUT_S:g}", "--json", str(target)).finish()
    assert code == 0, out + err
    return Graded(json.loads(target.read_text()), out, seconds)


@pytest.fixture(scope="module")
def foreground_grade(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Graded:
    return grade(FOREGROUND, tmp_path_factory.mktemp("foreground"), request)


def stopped_at_the_limit(seconds: float) -> bool:
    """Whether a grading of a batch ended at its limit, before the runner's grace after its
    interrupt was out (a run that does not hear the interrupt is killed then, losing every
    test it finished)."""
    return seconds < TIMEOUT_S + INTERRUPT_GRACE_S


def test_in_the_foreground_the_tests_before_the_limit_count(foreground_grade: Graded) -> None:
    tests = foreground_grade.result["tests"]
    assert [t["id"].split("::")[1] for t in tests if t["outcome"] == "passed"] == FINISHED
    assert "did not finish" in next(t for t in tests if "relu_grad_values" in t["id"])["message"]
    assert 0 < foreground_grade.result["score"] < foreground_grade.result["max_score"]
    assert NOTE in foreground_grade.output
    assert foreground_grade.seconds < TIMEOUT_S + STARTUP_S


@pytest.mark.parametrize("condition", CONDITIONS)
def test_grade_stops_at_its_time_limit_with_the_foregrounds_result(
    condition: str, foreground_grade: Graded, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    graded = grade(CONDITIONS[condition], tmp_path, request)
    assert graded.result == foreground_grade.result
    assert NOTE in graded.output
    assert graded.seconds < foreground_grade.seconds + INTERRUPT_GRACE_S - 1


# --- grade batch -------------------------------------------------------------------------------


def interrupted_batch(launch: Launch, tmp: Path, request: pytest.FixtureRequest) -> list[Row]:
    """Grade three hanging submissions one at a time; Ctrl-C while the second is graded.

    The batch finishes the second grading, starts no third, and exits 130; its rows. The first
    submission hangs in the first test: its time also pays for the start of the batch's fork
    server (runner.ForkedPytest), so how far it would get otherwise depends on the machine.
    """
    kit, files = place(launch, tmp, request)
    hanging_submission(files / "cohort" / "ann", hangs="sigmoid")
    for student in ("ben", "cat"):
        hanging_submission(files / "cohort" / student)
    gradebook = files / "out" / "gradebook.csv"
    started = start(launch, kit, tmp, "batch", str(files / "cohort"), "--out", str(gradebook),
                    "-j", "1", "--timeout", f"{TIMEOUT_S:g}")
    pid = started.grader_pid()
    deadline = time.monotonic() + 120
    while not (gradebook.exists() and [r.student for r in read_gradebook(gradebook)]):
        assert started.process.poll() is None, started.finish()
        assert time.monotonic() < deadline, "the first submission was never graded"
        time.sleep(0.05)
    os.kill(pid, signal.SIGINT)
    code, out, err, _ = started.finish()
    assert code == 130, out + err
    assert "interrupted" in err
    assert not (files / "out" / "students" / "cat").exists()
    return read_gradebook(gradebook)


@pytest.fixture(scope="module")
def foreground_batch(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> list[Row]:
    return interrupted_batch(FOREGROUND, tmp_path_factory.mktemp("foreground-batch"), request)


def without_seconds(rows: Sequence[Row]) -> list[Row]:
    return [replace(row, seconds=0.0) for row in rows]


def test_in_the_foreground_an_interrupted_batch_keeps_its_gradings_at_their_limit(
    foreground_batch: list[Row], foreground_grade: Graded
) -> None:
    ann, ben = foreground_batch
    assert (ann.student, ben.student) == ("ann", "ben")
    activations = next(e["score"] for e in foreground_grade.result["exercises"]
                       if e["name"] == "activations")
    assert (ann.points["activations"], ben.points["activations"]) == (0, activations)
    for row in foreground_batch:
        assert "timeout" in row.flags
        assert stopped_at_the_limit(row.seconds)


@pytest.mark.parametrize("condition", BATCH_CONDITIONS)
def test_batch_stops_at_the_limit_and_on_ctrl_c_as_in_the_foreground(
    condition: str, foreground_batch: list[Row], tmp_path: Path,
    request: pytest.FixtureRequest
) -> None:
    rows = interrupted_batch(BATCH_CONDITIONS[condition], tmp_path, request)
    assert without_seconds(rows) == without_seconds(foreground_batch)
    assert all(stopped_at_the_limit(row.seconds) for row in rows)
