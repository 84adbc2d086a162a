"""The attack catalogue: hostile submissions, graded by `grade` as a user runs it.

Each folder of tests/kit/attacks/ is one attack. Its `expect.toml` says how the submission is
built and what a safe grader shows; its other files are the attack's code. A submission is a
complete one: every exercise file is the reference solution, copied from solutions/ now, except
where `[files]` says otherwise:

    [files]                                   # path in the submission -> what it holds
    "perceptron.py" = "reference + perceptron.py"   # the reference, then this folder's file
    "perceptron.py" = "stub + perceptron.py"        # the generated stub, then this folder's file
    "conftest.py" = "submission_conftest.py"        # this folder's file as it is
    "activations.py" = "absent"

`form` is folder (default), checkout (exercises/ beside other files), zip (a folder zipped,
plus `[[zip_entries]]` of its own: name, and text or link) or notebook (one cell tagged
exercise:<name> per exercise file, after the `untagged` cells). `[links]` makes symbolic links
({kit}: the kit's root). `exercises` are graded with --exercise (default: all six), `limits`
go to `grade --limit`, and `needs` names the isolation the guarantee depends on
(docs/security.md): "namespaces" (namespaces or rootless: a root of the worker's own), or
"root" (those or drop: a user of its own); elsewhere the attack is skipped.

`[expect]`: `attacked` (the exercise carrying the attack), `score` (its points: 0 for a stub
and an attack), `deserved` (tests its honest part may pass; no other test may), `message` and
`outcome` (at least one of its tests fails so), `starts_process` (a process of the attack, its
command line ending with dlkit-attack-<folder>, is seen while grading), `exit` and `refused`
(exit status 2 and the one line saying why), `seconds` (a bound on the grading time).

Every attack is graded with `grade --submission ... --json ... --gradescope ...` in a process
of its own, with a random secret in its environment, several at once. Whatever the attack, a
safe grader shows:
- grade exits 0, the attacked exercise passes no test it does not deserve, and every other
  exercise has full marks; or, for a refused submission, grade exits 2 with one line;
- the table grade prints agrees with its JSON, and so does Gradescope's file;
- it finishes well within its time limit;
- the secret is in no output (stdout, stderr, the JSON files);
- no process of the submission is alive once grade has exited;
- nothing outside staging changed: no file named dlkit-attack* in /tmp, home, the system, the
  Python installation or the kit; no report or result JSON rewritten by an attack; no file of
  the kit changed to hold an attack's mark.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import site
import stat
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest

from grader.authoring.stubs import make_stub
from grader.kit import EXERCISES, kit_root
from grader.sandbox.client import WorkerClient
from grader.sandbox.errors import InputModified
from grader.sandbox.isolation import default_mode
from grader.sandbox.limits import Limits
from grader.sandbox.remote import SandboxImpl

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: pytest depends on tomli there
    import tomli as tomllib

KIT = kit_root()
ATTACKS_DIR = Path(__file__).parent / "attacks"
ATTACKS = sorted(p.parent.name for p in ATTACKS_DIR.glob("*/expect.toml"))
MARK = "dlkit-attack"  # in the name of every file an attack writes, and in its fake reports
SECRET_VARIABLE = "DLKIT_TEST_SECRET"
# grade runs mostly wait (for pytest, for the worker, for a time limit): a few at once.
AT_ONCE = max(2, min(4, (os.cpu_count() or 1) + 1))
GRADE_TIMEOUT_S = 180.0
DEFAULT_SECONDS = 60.0  # one grading, several running at once on two cores
SKIPPED_FOLDERS = {".git", ".venv", "venv", "__pycache__", ".pytest_cache", ".ruff_cache",
                   ".hypothesis", "node_modules"}
ISOLATION = default_mode()
# "namespaces": a root of the worker's own (the kit and the host's /tmp not in it); "root": a
# user id or PID namespace of its own, and the kit's private folders unreadable to it.
NEEDS = {"namespaces": {"namespaces", "rootless"}, "root": {"namespaces", "rootless", "drop"}}


# --- the catalogue ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Attack:
    """One folder of the catalogue, as its expect.toml describes it."""

    name: str
    about: str
    form: str = "folder"
    exercises: tuple[str, ...] = ()
    limits: tuple[str, ...] = ()
    needs: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    zip_entries: tuple[dict[str, str], ...] = ()
    untagged: tuple[str, ...] = ()
    unknown_tag: str | None = None
    expect: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, name: str) -> Attack:
        spec = tomllib.loads((ATTACKS_DIR / name / "expect.toml").read_text())
        for key in ("exercises", "limits", "zip_entries", "untagged"):
            if key in spec:
                spec[key] = tuple(spec[key])
        return cls(name=name, **spec)

    @property
    def folder(self) -> Path:
        return ATTACKS_DIR / self.name

    @property
    def graded(self) -> tuple[str, ...]:
        return self.exercises or EXERCISES

    @property
    def cost(self) -> float:
        """A rough guess of its grading time, to start the longest first."""
        return len(self.graded) + 4 * bool(self.limits) - 5 * (self.expect.get("exit", 0) == 2)

    def runs_here(self) -> bool:
        return self.needs is None or ISOLATION in NEEDS[self.needs]


def compose(attack: Attack, path: str, recipe: str) -> str:
    """The text of one file of the submission: its recipe's parts, joined."""
    exercise = Path(path).stem
    parts = []
    for part in (p.strip() for p in recipe.split("+")):
        if part == "reference":
            parts.append((KIT / "solutions" / f"{exercise}.py").read_text())
        elif part == "stub":
            parts.append(make_stub((KIT / "solutions" / f"{exercise}.py").read_text(), exercise))
        else:
            parts.append((attack.folder / part).read_text())
    return "\n\n".join(parts)


def submission_files(attack: Attack) -> dict[str, str]:
    """Path in the submission -> text: the reference, except where the attack says otherwise."""
    prefix = "exercises/" if attack.form == "checkout" else ""
    recipes = {f"{prefix}{name}.py": "reference" for name in EXERCISES} | attack.files
    return {path: compose(attack, path, recipe) for path, recipe in recipes.items()
            if recipe != "absent"}


def build_submission(attack: Attack, where: Path) -> Path:
    """Write the attack's submission under `where`; its path."""
    files = submission_files(attack)
    if attack.form == "notebook":
        return write_notebook(attack, files, where / "submission.ipynb")
    folder = where / "submission"
    for path, text in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    folder.mkdir(exist_ok=True)
    for path, target in attack.links.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).symlink_to(target.format(kit=KIT))
    if attack.form == "zip":
        return write_zip(attack, files, where / "submission.zip")
    return folder


def write_zip(attack: Attack, files: dict[str, str], target: Path) -> Path:
    """The files in one top-level folder `submission/`, then the attack's own entries."""
    with zipfile.ZipFile(target, "w") as archive:
        for path, text in files.items():
            archive.writestr(f"submission/{path}", text)
        for entry in attack.zip_entries:
            info = zipfile.ZipInfo(entry["name"])
            if "link" in entry:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                archive.writestr(info, entry["link"])
            else:
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                archive.writestr(info, entry["text"])
    return target


def write_notebook(attack: Attack, files: dict[str, str], target: Path) -> Path:
    """Untagged cells first, then one tagged cell per exercise file (and one of a bad tag)."""
    cells = [nbformat.v4.new_markdown_cell("# Week 1")]
    cells += [nbformat.v4.new_code_cell((attack.folder / name).read_text())
              for name in attack.untagged]
    cells += [nbformat.v4.new_code_cell(files[f"{name}.py"],
                                        metadata={"tags": [f"exercise:{name}"]})
              for name in EXERCISES if f"{name}.py" in files]
    if attack.unknown_tag:
        cells.append(nbformat.v4.new_code_cell((attack.folder / attack.unknown_tag).read_text(),
                                               metadata={"tags": ["exercise:grader"]}))
    notebook = nbformat.v4.new_notebook()
    notebook.cells = cells
    target.write_text(nbformat.writes(notebook))
    return target


# --- what is watched -------------------------------------------------------------------------


def processes_with(text: str) -> list[str]:
    """Command lines of this machine's processes that hold `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                cmdline = (entry / "cmdline").read_bytes()
                if text.encode() in cmdline:
                    words = cmdline.replace(b"\0", b" ").decode(errors="replace")
                    found.append(f"{entry.name}: {words[:200]}")
    return found


def leftovers(*texts: str) -> list[str]:
    """Processes holding one of `texts`, looked for twice: a process in the middle of an exec
    shows an empty command line for a moment."""
    found = []
    for pause in (0.0, 0.2):
        time.sleep(pause)
        found += [p for text in texts for p in processes_with(text) if p not in found]
    return found


def watched_folders() -> set[Path]:
    """Where an attack that escaped would leave a file: the shared, system and kit folders."""
    folders = {"/tmp", "/var/tmp", "/dev/shm", "/root", "/etc", "/", "/usr/local/lib",
               *map(str, Path("/home").glob("*")), os.path.dirname(sys.executable),
               *sys.path, *site.PREFIXES, sysconfig.get_paths()["purelib"]}
    paths = {Path(f) for f in folders if f} | {Path.home(), KIT, KIT / "tests",
                                                KIT / "solutions", KIT / "exercises"}
    return {p for p in paths if p.is_dir()}


def walk(root: Path, depth: int) -> Iterator[Path]:
    """Files under `root`, at most `depth` folders down, without the kit's tool folders."""
    for folder, subfolders, files in os.walk(root):
        level = len(Path(folder).relative_to(root).parts)
        subfolders[:] = [] if level >= depth else [
            s for s in subfolders if s not in SKIPPED_FOLDERS]
        yield from (Path(folder, name) for name in files)


def marker_files(folders: Iterable[Path] = (), trees: Iterable[Path] = ()) -> list[Path]:
    """Files named dlkit-attack* in the watched folders, in `folders`, and anywhere under
    `trees`."""
    found = [p for folder in {*watched_folders(), *folders} for p in folder.glob(f"{MARK}*")]
    return found + [p for root in trees for p in walk(root, 8) if p.name.startswith(MARK)]


def forged_reports(attack: str, roots: list[Path], since: float) -> list[Path]:
    """JSON files under `roots`, written after `since`, that an attack rewrote (they hold
    {"dlkit-attack": attack})."""
    found = []
    for root in roots:
        for path in walk(root, 7):
            if path.suffix == ".json":
                with contextlib.suppress(OSError, ValueError):
                    if path.stat().st_mtime < since:
                        continue
                    data = json.loads(path.read_bytes()[:1_000_000])
                    if isinstance(data, dict) and data.get(MARK) == attack:
                        found.append(path)
    return found


def kit_snapshot() -> dict[Path, tuple[int, int]]:
    """(size, mtime) of every file of the kit but its tool folders."""
    snapshot = {}
    for path in walk(KIT, 12):
        with contextlib.suppress(OSError):
            info = path.stat()
            snapshot[path] = (info.st_size, info.st_mtime_ns)
    return snapshot


def marked_kit_files(before: dict[Path, tuple[int, int]]) -> list[Path]:
    """Files of the kit that are new or changed since `before` and hold an attack's mark (the
    catalogue's own files hold it by design; edits by people meanwhile do not)."""
    changed = [p for p, seen in kit_snapshot().items() if before.get(p) != seen
               and not p.is_relative_to(ATTACKS_DIR) and p != Path(__file__)]
    return [p for p in changed if MARK.encode() in p.read_bytes()]


# --- grading ---------------------------------------------------------------------------------


@dataclass
class Graded:
    """What grading one attack's submission showed, and what it left."""

    exit: int
    stdout: str
    stderr: str
    seconds: float
    outputs: dict[str, str]  # every output: stdout, stderr, each file written
    result: dict[str, Any] | None
    gradescope: dict[str, Any] | None
    seen: bool  # the attack's own processes were seen running during grading
    alive: list[str]  # processes of the submission still running after grade exited
    markers: list[Path]
    forged: list[Path]
    kit_changes: list[Path]


def grade(attack: Attack, where: Path, secret: str,
          kit_before: dict[Path, tuple[int, int]], isolation: str | None = None) -> Graded:
    """Build the attack's submission under `where` and grade it as a user would (with
    `--isolation isolation` where given: tests/kit/test_portable.py grades some in `portable`)."""
    where.mkdir(parents=True)
    submission = build_submission(attack, where)
    out, cwd, tmp = where / "out", where / "cwd", where / "tmp"
    for folder in (out, cwd, tmp):
        folder.mkdir()
    command = [sys.executable, "-m", "grader.cli", "--submission", str(submission),
               "--json", str(out / "result.json"), "--gradescope", str(out / "results.json")]
    for exercise in attack.exercises:
        command += ["--exercise", exercise]
    for limit in attack.limits:
        command += ["--limit", limit]
    if isolation is not None:
        command += ["--isolation", isolation]
    # TMPDIR: the grader's own files (staging, reports) go under `where`, so that its processes
    # can be told from others by their command lines.
    env = {**os.environ, SECRET_VARIABLE: secret, "TMPDIR": str(tmp)}
    marked = f"{MARK}-{attack.name}\0"  # the last word of the command line of its processes
    since = time.time() - 1.0  # file times are coarser than the clock
    started = time.monotonic()
    with subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as process:
        stdout, stderr, seen = wait_watching(process, marked if attack.expect.get(
            "starts_process") else None)
    seconds = time.monotonic() - started
    alive = leftovers(f"{where}/", marked)
    outputs = {"stdout": stdout, "stderr": stderr}
    outputs |= {str(p): p.read_text(errors="replace") for p in (*out.iterdir(), *cwd.iterdir())
                if p.is_file()}

    def load(path: Path) -> dict[str, Any] | None:
        return json.loads(path.read_text()) if path.is_file() else None

    # A zip entry ../../x lands next to `where` if unpacked in its cwd or staging folder.
    markers = marker_files(folders=[where.parent], trees=[where])
    for path in markers:  # never left for the next attack, or the next run, to find
        with contextlib.suppress(OSError):
            path.unlink()
    return Graded(process.returncode, stdout, stderr, seconds, outputs,
                  load(out / "result.json"), load(out / "results.json"), seen, alive, markers,
                  forged_reports(attack.name, [Path("/tmp"), KIT], since),
                  marked_kit_files(kit_before))


def wait_watching(process: subprocess.Popen[str], marked: str | None) -> tuple[str, str, bool]:
    """grade's stdout and stderr once it exits; whether a process whose command line holds
    `marked` was seen meanwhile (the attack's own processes really ran)."""
    deadline = time.monotonic() + GRADE_TIMEOUT_S
    seen = False
    while True:
        try:
            left = deadline - time.monotonic()
            stdout, stderr = process.communicate(timeout=max(0.05, 0.05 if marked else left))
            return stdout, stderr, seen
        except subprocess.TimeoutExpired:
            seen = seen or bool(marked and processes_with(marked))
            if time.monotonic() > deadline:
                process.kill()  # grade itself hung: the time check fails the test


class Catalogue:
    """The selected attacks, graded a few at once as soon as the first test asks."""

    def __init__(self, names: list[str], base: Path, isolation: str | None = None) -> None:
        self.secret = secrets.token_hex(16)
        kit_before = kit_snapshot()
        self.pool = ThreadPoolExecutor(max_workers=AT_ONCE)
        self.jobs: dict[str, Future[Graded]] = {
            a.name: self.pool.submit(grade, a, base / a.name, self.secret, kit_before, isolation)
            for a in sorted((Attack.load(n) for n in names), key=lambda a: -a.cost)
        }

    def result(self, name: str) -> Graded:
        return self.jobs[name].result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def catalogue(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalogue]:
    # The attacks this session runs (all, or those -k chose), started together.
    names = [item.callspec.params.get("attack") for item in request.session.items
             if item.module is request.module and hasattr(item, "callspec")]
    names = [n for n in dict.fromkeys(names) if n and Attack.load(n).runs_here()]
    graded = Catalogue(names, tmp_path_factory.mktemp("attacks"))
    yield graded
    graded.close()


# --- the checks ------------------------------------------------------------------------------


def function_of(test_id: str) -> str:
    """'tests/public/test_x.py::test_y[case]' -> 'test_y'."""
    return test_id.rsplit("::", 1)[-1].split("[", 1)[0]


def why_lost(result: dict[str, Any], exercise: str) -> str:
    lost = {f"{t['outcome']}: {t['message']}"[:300] for t in result["tests"]
            if t["exercise"] == exercise and t["outcome"] != "passed"}
    return "; ".join(sorted(lost)[:5])


def check_scores(attack: Attack, graded: Graded) -> None:
    """The attacked exercise passes no test it does not deserve (and has `score`, if given); every
    other exercise has full marks; Gradescope's total is the JSON's."""
    result = graded.result
    assert result is not None, f"grade wrote no result JSON:\n{graded.stderr[-2000:]}"
    expect = attack.expect
    points = {e["name"]: (e["score"], e["max_score"]) for e in result["exercises"]}
    assert list(points) == [e for e in EXERCISES if e in attack.graded]
    for name, (score, maximum) in points.items():
        if name != expect["attacked"]:
            assert score == maximum, (
                f"honest {name} lost points: {score} of {maximum} ({why_lost(result, name)})")
    attacked = [t for t in result["tests"] if t["exercise"] == expect["attacked"]]
    score, maximum = points[expect["attacked"]]
    undeserved = sorted(t["id"] for t in attacked if t["outcome"] == "passed"
                        and function_of(t["id"]) not in expect.get("deserved", []))
    assert not undeserved, (
        f"the attack got {score} of {maximum} points on {expect['attacked']}: "
        f"{len(undeserved)} test(s) passed that its honest part does not deserve, "
        f"e.g. {undeserved[:3]}")
    if "score" in expect:
        assert score == expect["score"]
    if "message" in expect:
        assert any(expect["message"] in t["message"] for t in attacked), (
            f"no test of {expect['attacked']} says {expect['message']!r}: "
            f"{why_lost(result, expect['attacked'])}")
    if "outcome" in expect:
        assert any(t["outcome"] == expect["outcome"] for t in attacked)
    assert graded.gradescope is not None and graded.gradescope["score"] == result["score"]


def check_table(graded: Graded) -> None:
    """grade's table says what its JSON says, once: no printed line of the submission's shows."""
    result = graded.result
    assert result is not None
    rows = [(e["name"], e["score"], e["max_score"]) for e in result["exercises"]]
    rows.append(("total", result["score"], result["max_score"]))
    lines = graded.stdout.splitlines()
    for name, score, maximum in rows:
        found = [line for line in lines if re.match(rf"{name}\s+[\d.]+ /", line)]
        assert found == [f"{name:<13}{score:6.2f} / {maximum:6.2f}"], found


def check_refused(attack: Attack, graded: Graded) -> None:
    """Exit status 2 and one line saying why; no result written."""
    said = [line for line in (graded.stdout + graded.stderr).splitlines() if line.strip()]
    assert len(said) == 1 and attack.expect["refused"] in said[0], said
    assert graded.result is None and graded.gradescope is None


def check_contained(attack: Attack, graded: Graded, secret: str) -> None:
    """No secret in any output, no process left, nothing written outside staging."""
    leaked = [name for name, text in graded.outputs.items() if secret in text]
    assert not leaked, f"the grader's secret environment variable shows in {leaked}"
    if attack.expect.get("starts_process"):
        assert graded.seen, "the attack's process was never seen running: it did not take place"
    assert not graded.alive, f"processes of the submission outlived grade: {graded.alive}"
    assert not graded.markers, f"files written outside staging: {graded.markers}"
    assert not graded.forged, f"reports or results rewritten by the attack: {graded.forged}"
    assert not graded.kit_changes, f"files of the kit changed by the attack: {graded.kit_changes}"
    limit = float(attack.expect.get("seconds", DEFAULT_SECONDS))
    assert graded.seconds < limit, f"grading took {graded.seconds:.1f} s (limit {limit:g} s)"
    assert "hit its time limit" not in graded.stdout


def attack_param(name: str) -> Any:
    attack = Attack.load(name)
    skip = pytest.mark.skipif(
        not attack.runs_here(),
        reason=f"needs {attack.needs} isolation, this machine gives {ISOLATION} "
        "(docs/security.md: not guaranteed here)")
    return pytest.param(name, marks=skip, id=name)


@pytest.mark.parametrize("attack", [attack_param(name) for name in ATTACKS])
def test_attack_is_contained(attack: str, catalogue: Catalogue) -> None:
    spec = Attack.load(attack)
    graded = catalogue.result(attack)
    expected_exit = spec.expect.get("exit", 0)
    assert graded.exit == expected_exit, (
        f"grade exited {graded.exit}, expected {expected_exit}:\n"
        f"{graded.stdout[-2000:]}\n{graded.stderr[-2000:]}")
    if expected_exit == 2:
        check_refused(spec, graded)
    else:
        check_scores(spec, graded)
        check_table(graded)
    check_contained(spec, graded, catalogue.secret)


def test_the_watchers_see_what_an_escape_would_leave(tmp_path: Path) -> None:
    """The catalogue's negative findings mean something: a marker file, a rewritten report and
    a marked process are each seen."""
    marker = Path("/tmp") / f"{MARK}-selftest-{secrets.token_hex(4)}"
    marker.write_text("")
    try:
        assert marker in marker_files()
    finally:
        marker.unlink()
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "report.json").write_text(json.dumps({MARK: "selftest"}))
    assert forged_reports("selftest", [tmp_path], since=time.time() - 60) == [
        tmp_path / "deep" / "er" / "report.json"]
    word = f"{MARK}-selftest-{secrets.randbelow(10**9)}"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", word])
    try:
        assert leftovers(f"{word}\0")
    finally:
        sleeper.kill()
        sleeper.wait()
    assert not processes_with(f"{word}\0")


def test_the_catalogue_covers_the_issue() -> None:
    """The kinds of attack issue 4 lists, each with at least one folder."""
    kinds = ("exit_at_import", "sys_exit_at_import", "exit_in_call", "sys_exit_in_call",
             "patch_numpy", "patch_pytest", "lying_ndarray", "find_reference", "report_atexit",
             "report_forked_writer", "conftest_and_ini", "loop_at_import",
             "loop_at_import_alarm_ignored", "loop_in_call", "loop_in_call_alarm_ignored",
             "memory_hog", "daemon", "fake_results", "leak_environment",
             "write_outside_staging", "zip_slip_relative", "zip_slip_absolute", "zip_symlink",
             "folder_symlink_to_reference", "checkout_symlink_to_passwd",
             "notebook_untagged_cells", "delayed_overwrite")
    assert set(kinds) <= set(ATTACKS)
    for name in ATTACKS:
        spec = Attack.load(name)
        assert spec.about and spec.expect, name
        assert spec.expect.get("exit", 0) == 2 or spec.expect["attacked"] in spec.graded, name


# --- a hole the catalogue found: mutate the input, and the reference computed after agrees ----

MUTATOR = '''
import numpy as np


def answer_and_overwrite(z):
    z[...] = 0.75
    return np.full(z.shape, 0.75)


def keep(z):
    global kept
    kept = z


def overwrite_kept():
    kept[...] = 0.0
'''


def test_a_call_that_changes_its_argument_fails_and_the_array_is_put_back(
    tmp_path: Path,
) -> None:
    (tmp_path / "activations.py").write_text(MUTATOR)
    client = WorkerClient(tmp_path, Limits(call_timeout_s=10))
    try:
        remote = SandboxImpl(client, "activations")
        z = np.arange(3.0)
        with pytest.raises(InputModified, match=r"activations\.answer_and_overwrite\(\.\.\.\) "
                                                r"changed an array it was given, in place"):
            remote.answer_and_overwrite(z)
        assert np.array_equal(z, [0.0, 1.0, 2.0])
        # Kept from one call and changed in a later one (the delayed_overwrite attack): the same.
        remote.keep(z)
        with pytest.raises(InputModified, match=r"activations\.overwrite_kept\(\.\.\.\) "
                                                r"changed an array that the test had handed over"):
            remote.overwrite_kept()
        assert np.array_equal(z, [0.0, 1.0, 2.0])
    finally:
        client.close()
