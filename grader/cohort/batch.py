"""Grade a folder of submissions: one per entry, in parallel, each apart from the others.

    DIR/alice/            a checkout or a folder of exercise files   -> student "alice"
    DIR/bob.zip           a zip of either                            -> student "bob"
    DIR/carol.ipynb       a notebook with tagged cells               -> student "carol"
    DIR/notes.txt         no submission: reported and skipped

A batch goes in two steps:

1. plan (in this process, trusted code only): stage every entry (`grader.grading.submission`), which
   refuses what is unsafe, and hash what was staged together with the kit's suites, rubric,
   reference and grader. An entry whose hash matches its last result is not graded again.
2. grade what is left, `jobs` at a time. Each grading is its own child processes (a pytest
   run whose sandbox workers run the student's code), so a submission that crashes, hangs or
   attacks costs only its own score.

Next to the gradebook, each student gets a folder `students/<student>/` with `result.json`
(the contract's result JSON), `feedback.txt` (what the instructor can return) and
`record.json` (the hash and gradebook row, for incremental re-runs). A student's files are
written the moment their grading ends, `record.json` last, and the gradebook is rewritten
after each one, so an interrupted batch keeps everything it finished.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import click

from grader.cohort.gradebook import Row, record_to_row, row_to_record, write_gradebook
from grader.cohort.progress import ProgressBar
from grader.cohort.shards import Shard, select
from grader.grading.manifest import MANIFEST
from grader.grading.pipeline import Graded, GraderError, Setup, grade_submission, load_setup
from grader.grading.results import GradedExercise, Result
from grader.grading.rubric import RUBRIC
from grader.grading.runner import DEFAULT_TIMEOUT_S
from grader.grading.scoring import score_report
from grader.grading.submission import Staged, SubmissionError, stage_submission
from grader.kit import EXERCISES, kit_root
from grader.sandbox.isolation import default_mode

SUBMISSION_SUFFIXES = (".zip", ".ipynb")
STUDENTS_FOLDER = "students"
# What decides a score besides the submission: a change to any of these regrades everyone.
KIT_INPUTS = ("grader", "solutions", "tests/public", "tests/hidden", str(MANIFEST), str(RUBRIC))


class BatchError(Exception):
    """A batch that cannot start (unreadable folder, two entries of one student); one line."""


# --- entries -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One entry of the batch folder and the student it belongs to."""

    path: Path
    student: str


def student_id(path: Path) -> str:
    """The entry's name, less a .zip or .ipynb suffix: `bob.zip` -> "bob"."""
    suffix = path.suffix
    return path.name[: -len(suffix)] if suffix.lower() in SUBMISSION_SUFFIXES else path.name


def find_entries(folder: Path, out: Path | None = None) -> tuple[list[Entry], list[str]]:
    """(entries, lines on what was skipped) of the batch folder, sorted by name.

    A folder, `.zip` or `.ipynb` is an entry; hidden files and anything else are no submission.
    The batch's own outputs (the gradebook `out`, or a folder holding it) are left out silently.
    """
    try:
        children = sorted(folder.iterdir())
    except OSError as err:
        raise BatchError(f"cannot list {folder}: {err.strerror}") from None
    ours = out.resolve() if out is not None else None
    entries, skipped = [], []
    for path in children:
        if ours is not None and ours.is_relative_to(path.resolve()):
            continue
        if path.name.startswith(".") or path.name == "__MACOSX":
            skipped.append(f"skipped {path.name}: a hidden or system entry, no submission")
        elif path.is_dir() or path.suffix.lower() in SUBMISSION_SUFFIXES:
            entries.append(Entry(path, student_id(path)))
        else:
            skipped.append(f"skipped {path.name}: no submission (a folder, .zip or .ipynb)")
    counts = Counter(e.student for e in entries)
    clashes = {student for student, n in counts.items() if n > 1}
    if clashes:
        names = ", ".join(e.path.name for e in entries if e.student in clashes)
        raise BatchError(f"two entries for one student ({names}): keep one per student")
    return entries, skipped


# --- hashing -----------------------------------------------------------------------------------


def files_digest(files: Iterable[tuple[str, bytes]]) -> str:
    """SHA-256 of (name, content) pairs, in name order, each length-prefixed (no ambiguity)."""
    digest = hashlib.sha256()
    for name, content in sorted(files):
        for part in (name.encode(), content):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.hexdigest()


def folder_files(root: Path, relative: str) -> list[tuple[str, bytes]]:
    """(path from root, content) of the .py, .json and .toml files under root/relative."""
    base = root / relative
    paths = [base] if base.is_file() else sorted(base.rglob("*")) if base.is_dir() else []
    return [
        (p.relative_to(root).as_posix(), p.read_bytes())
        for p in paths
        if p.is_file() and p.suffix in (".py", ".json", ".toml") and "__pycache__" not in p.parts
    ]


def kit_fingerprint(kit: Path, timeout: float, limits: Sequence[str] = ()) -> str:
    """The hash of everything besides the submission that decides a score."""
    files = [f for relative in KIT_INPUTS for f in folder_files(kit, relative)]
    settings = [("timeout", repr(float(timeout)).encode()),
                ("limits", "\n".join(sorted(limits)).encode())]
    return files_digest([*files, *settings])


def submission_digest(staged: Staged, fingerprint: str) -> str:
    """The hash of what is graded (the staged exercise files) under this kit."""
    return files_digest([*folder_files(staged.folder, "."), ("kit", fingerprint.encode())])


# --- one student's outputs ---------------------------------------------------------------------


@dataclass(frozen=True)
class StudentFiles:
    """Where one student's outputs go: `<students>/<student>/`."""

    folder: Path

    @property
    def result(self) -> Path:
        return self.folder / "result.json"

    @property
    def feedback(self) -> Path:
        return self.folder / "feedback.txt"

    @property
    def record(self) -> Path:
        return self.folder / "record.json"


def write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)


def read_record(files: StudentFiles) -> tuple[str, Row] | None:
    """(digest, row) of the student's last grading, or None when there is none to trust."""
    try:
        data = json.loads(files.record.read_text())
        return data["digest"], record_to_row(data["row"], where=str(files.record))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def feedback_text(student: str, kind: str, result: Result) -> str:
    """What a student reads: who and what was graded, the table, why points were lost, notes."""
    from grader.grading.formats import text_report

    header = f"Grading of {student} ({kind}): {result.score:g} / {result.max_score:g} points"
    return f"{header}\n\n{click.unstyle(text_report(result))}\n"


def write_outputs(
    files: StudentFiles, result: Result, feedback: str, record: dict[str, Any] | None
) -> None:
    """Write the student's result and feedback, then (if given) the record that marks them done.

    The old record goes first: outputs are never left beside a record they do not match.
    """
    from grader.grading.formats import result_json

    files.folder.mkdir(parents=True, exist_ok=True)
    files.record.unlink(missing_ok=True)
    write_atomically(files.result, json.dumps(result_json(result), indent=2) + "\n")
    write_atomically(files.feedback, feedback)
    if record is not None:
        write_atomically(files.record, json.dumps(record, indent=2) + "\n")


# --- grading -----------------------------------------------------------------------------------


def missing_flags(staged: Staged) -> list[str]:
    """`missing:<exercise>` for each exercise file the submission lacks (it scores 0)."""
    return [f"missing:{name}" for name in EXERCISES if name not in staged.exercises]


Grade = Callable[[Setup, Staged], Graded]


def unscored_result(setup: Setup, note: str) -> Result:
    """Zero points out of the full maximum, no test run: a refused submission's result."""
    empty = score_report({"tests": []}, setup.manifest, setup.rubric)
    exercises = [GradedExercise(e.name, 0.0, e.max_score) for e in empty.exercises]
    return Result(0.0, empty.max_score, exercises, [], notes=[note])


def row_of(student: str, result: Result, flags: Sequence[str], seconds: float) -> Row:
    """The gradebook row of a result, as the CSV will hold it (flags sorted, tenths of seconds)."""
    points = {name: 0.0 for name in EXERCISES}
    points.update({e.name: e.score for e in result.exercises})
    return Row(student, points, result.score, result.max_score, tuple(sorted(set(flags))),
               round(seconds, 1))


@dataclass
class Job:
    """An entry after planning: staged (or refused), and whether its last result still holds."""

    entry: Entry
    files: StudentFiles
    staged: Staged | None = None
    digest: str = ""
    kept: Row | None = None
    refused: str = ""


def plan(entry: Entry, files: StudentFiles, fingerprint: str, staging: Path, force: bool) -> Job:
    """Stage the entry and compare its hash (under the kit's `fingerprint`) with the last
    grading's."""
    job = Job(entry, files)
    try:
        job.staged = stage_submission(entry.path, staging / entry.student)
    except SubmissionError as err:
        job.refused = str(err)
        return job
    job.digest = submission_digest(job.staged, fingerprint)
    last = None if force else read_record(files)
    if last is not None and last[0] == job.digest:
        job.kept = last[1]
    return job


def refuse(job: Job, setup: Setup) -> Row:
    """A refused entry scores 0 with the flag `refused`; its feedback says why.

    No record is kept: refusing again costs a staging, never a grading.
    """
    result = unscored_result(setup, f"Refused: {job.refused}")
    row = row_of(job.entry.student, result, ["refused"], 0.0)
    feedback = (f"Grading of {job.entry.student}: 0 / {result.max_score:g} points\n\n"
                f"The submission was refused: {job.refused}\n")
    write_outputs(job.files, result, feedback, record=None)
    return row


def grade_job(job: Job, setup: Setup, grade: Grade) -> Row:
    """Grade one staged submission and write its outputs; runs on a pool thread.

    A grading the grader could not carry out is no grade: its row has the flag `grader-error`
    and no points, its feedback says why, and no record is kept, so the next run regrades it.
    """
    assert job.staged is not None
    started = time.monotonic()
    try:
        graded = grade(setup, job.staged)
    except Exception as err:  # GraderError, or a bug of the grader's: never the student's zero
        why = str(err) if isinstance(err, GraderError) else f"{type(err).__name__}: {err}"
        result = unscored_result(setup, f"The grader failed: {why}")
        row = Row(job.entry.student, {}, None, result.max_score, ("grader-error",),
                  round(time.monotonic() - started, 1))
        feedback = (f"Grading of {job.entry.student} ({job.staged.kind}): not graded\n\n"
                    f"The grader failed, through no fault of the submission: {why}\n")
        write_outputs(job.files, result, feedback, record=None)
        return row
    result = graded.result
    result.seconds = time.monotonic() - started
    row = row_of(job.entry.student, result, [*missing_flags(job.staged), *graded.flags],
                 result.seconds)
    record = {"digest": job.digest, "row": row_to_record(row)}
    write_outputs(job.files, result, feedback_text(job.entry.student, job.staged.kind, result),
                  record)
    return row


# --- the batch ---------------------------------------------------------------------------------


@dataclass
class BatchReport:
    """What a batch did: the gradebook's rows and how each came about."""

    rows: list[Row] = field(default_factory=list)
    graded: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    grader_errors: list[str] = field(default_factory=list)  # not graded: the grader failed
    interrupted: bool = False


def students_folder(out: Path) -> Path:
    """The per-student folders sit next to the gradebook: `<out's folder>/students/`."""
    return out.parent / STUDENTS_FOLDER


def default_jobs() -> int:
    """The cores this process may run on (a container's share, where the OS says so)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def outcome_note(row: Row) -> str:
    flags = f" [{';'.join(row.flags)}]" if row.flags else ""
    points = "not graded" if row.total is None else f"{row.total:g}/{row.max_total:g}"
    return f"{points}{flags}"


def run_batch(
    folder: Path,
    out: Path,
    jobs: int | None = None,
    force: bool = False,
    shard: Shard | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    limits: Sequence[str] = (),
    stream: TextIO | None = None,
    grade: Grade | None = None,
    kit: Path | None = None,
    isolation: str = "auto",
) -> BatchReport:
    """Grade every submission of `folder` (or of its `shard`) into the gradebook `out`.

    `grade`: the kit's own `grade_submission` unless given (the kit's tests give fakes).
    """
    stream = stream if stream is not None else sys.stderr
    jobs = jobs or default_jobs()
    kit = kit or kit_root()
    setup = load_setup(kit, timeout, limits, isolation=isolation)
    fingerprint = kit_fingerprint(kit, timeout, limits)
    students = students_folder(out)
    entries, skipped = find_entries(folder, out)
    chosen = set(select([e.student for e in entries], shard))
    entries = [e for e in entries if e.student in chosen]
    report = BatchReport(skipped=skipped)
    for line in skipped:
        stream.write(line + "\n")
    done: dict[str, Row] = {}
    with tempfile.TemporaryDirectory(prefix="grade-batch-") as staging:
        planned = [plan(e, StudentFiles(students / e.student), fingerprint, Path(staging), force)
                   for e in entries]
        todo = settle_planned(planned, setup, done, report, stream)
        stream.write(f"{len(entries)} submissions{f' (shard {shard})' if shard else ''}: "
                     f"{len(report.kept)} unchanged, {len(report.refused)} refused, "
                     f"{len(todo)} to grade with {jobs} jobs\n")
        write_gradebook(done.values(), out)
        # The zygote serves the kit's own grading only: another `grade` (a test's) never asks it.
        with ctrl_c_interrupts(), sandboxes_for(todo, grade, isolation) as zygote:
            setup = replace(setup, alone=False, zygote=zygote)
            report.interrupted = grade_all(todo, setup, grade or grade_submission, jobs, out,
                                           done, report, stream)
    report.rows = sorted(done.values(), key=lambda r: r.student)
    report.grader_errors = [row.student for row in report.rows if not row.graded]
    return report


def settle_planned(planned: Sequence[Job], setup: Setup, done: dict[str, Row],
                   report: BatchReport, stream: TextIO) -> list[Job]:
    """Rows for the refused entries and the unchanged ones; the jobs left to grade."""
    for job in planned:
        if job.refused:
            done[job.entry.student] = refuse(job, setup)
            report.refused.append(job.entry.student)
            stream.write(f"refused {job.entry.path.name}: {job.refused}\n")
        elif job.kept is not None:
            done[job.entry.student] = job.kept
            report.kept.append(job.entry.student)
    return [job for job in planned if not job.refused and job.kept is None]


def sandboxes_for(todo: Sequence[Job], grade: Grade | None,
                  isolation: str) -> contextlib.AbstractContextManager[Path | None]:
    """A zygote for the batch's sandboxes (its socket), where one serves: the kit's own grading
    of something, on Linux, in a mode of its supervisors (a `portable` worker, on any OS, is
    started on its own). Else no zygote (None)."""
    mode = default_mode() if isolation == "auto" else isolation
    if not todo or grade is not None or not sys.platform.startswith("linux") or (
            mode == "portable"):
        return contextlib.nullcontext()
    from grader.sandbox import zygote  # Linux's: imported only there

    return zygote.running_zygote()


@contextlib.contextmanager
def ctrl_c_interrupts() -> Iterator[None]:
    """Ctrl-C (SIGINT) raises KeyboardInterrupt in this block, however the process was started.

    A batch started with SIGINT ignored (a background job of a script, nohup-style, CI and cron
    launchers) keeps the ignore, as Python does: it could then be stopped only by killing it,
    losing the gradings in progress. A handler of the caller's own is left in place, and so is
    everything outside the main thread, where no handler can be set.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) not in (signal.SIG_IGN, signal.SIG_DFL, None)):
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def grade_all(
    todo: Sequence[Job],
    setup: Setup,
    grade: Grade,
    jobs: int,
    out: Path,
    done: dict[str, Row],
    report: BatchReport,
    stream: TextIO,
) -> bool:
    """Grade `todo` on a pool of `jobs` threads; True when interrupted (Ctrl-C).

    Each thread only waits on its submission's child processes, so threads (not processes)
    suffice. On Ctrl-C no new grading starts; those running finish and are kept.
    """
    if not todo:
        return False
    progress = ProgressBar(len(todo), stream)
    pool = ThreadPoolExecutor(max_workers=jobs)
    running: dict[Future[Row], Job] = {pool.submit(grade_job, j, setup, grade): j for j in todo}
    interrupted = False
    try:
        while running:
            try:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
            except KeyboardInterrupt:
                interrupted = True
                for future in running:
                    future.cancel()
                progress.note("interrupted: finishing the submissions being graded, "
                              "starting no more (run again to grade the rest)")
                continue
            for future in finished:
                job = running.pop(future)
                if future.cancelled():
                    continue
                row = future.result()
                done[job.entry.student] = row
                report.graded.append(job.entry.student)
                write_gradebook(done.values(), out)
                progress.advance(job.entry.student, outcome_note(row))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return interrupted

