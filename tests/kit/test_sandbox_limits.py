"""The sandbox's limits hold: hung, dying, greedy or escaping submissions are contained.

Each test serves a tiny hostile submission (written to a temporary folder) with a real worker.
The privilege tests need root (the `namespaces` mode); the rest run in every mode.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from grader.grading.scoring import outcome_of
from grader.kit import kit_root
from grader.sandbox.client import WorkerClient
from grader.sandbox.errors import FAILURE_METADATA, SubmissionCrashed, SubmissionTimeout
from grader.sandbox.isolation import default_mode
from grader.sandbox.limits import THREAD_VARS, Limits
from grader.sandbox.remote import SandboxImpl
from grader.sandbox.runtime.loading import ExerciseImportError
from grader.sandbox.zygote import running_zygote

HOSTILE = '''
import os
import signal
import socket
import sys
import time

import numpy as np


def ok():
    return "ok"


def spin():
    while True:
        pass


def spin_ignoring_alarm():
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    signal.alarm(1)
    while True:
        pass


def exit_now(code):
    os._exit(code)


def sys_exit(code):
    sys.exit(code)


def kill_self():
    os.kill(os.getpid(), signal.SIGKILL)


def hog(n_bytes):
    return float(np.ones(n_bytes // 8).sum())


def hog_in_children(n, n_bytes):
    """n processes, each within the per-process limit; together over it. Their exit codes."""
    children = []
    for _ in range(n):
        child = os.fork()
        if child == 0:
            data = np.ones(n_bytes // 8)
            time.sleep(1.0)
            os._exit(int(data[0]) - 1)
        children.append(child)
    return [os.waitstatus_to_exitcode(os.waitpid(c, 0)[1]) for c in children]


def daemon(marker):
    """Double fork and setsid: the grandchild outlives its parents."""
    child = os.fork()
    if child == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv("/bin/sleep", ["sleep", marker])
        os._exit(0)
    os.waitpid(child, 0)
    return True


def spawn(marker, n):
    for _ in range(n):
        if os.fork() == 0:
            os.execv("/bin/sleep", ["sleep", marker])
    return n


def environment():
    return dict(os.environ)


def whoami():
    return os.getuid(), os.getgid()


def read(path):
    with open(path) as file:
        return file.read()


def listdir(path):
    return sorted(os.listdir(path))


def write(path):
    with open(path, "w") as file:
        file.write("written by the submission")
    return True


def connect():
    socket.create_connection(("1.1.1.1", 53), timeout=2).close()
    return True


def shout(n):
    sys.stdout.write("x" * n)
    return n
'''

MakeClient = Callable[..., WorkerClient]
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="privilege drop needs root")


@pytest.fixture(scope="module")
def zygote() -> Iterator[Path]:
    with running_zygote() as socket_path:
        yield socket_path


@pytest.fixture(params=["exec", "zygote"])
def make_client(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., WorkerClient]]:
    """Workers started by `python -I` (as `grade` does) or forked by a zygote (as a batch does)."""
    clients: list[WorkerClient] = []
    zygote = request.getfixturevalue("zygote") if request.param == "zygote" else None

    def make(limits: Limits | None = None, mode: str | None = None,
             files: dict[str, str] | None = None) -> WorkerClient:
        folder = tmp_path / f"submission{len(clients)}"
        folder.mkdir()
        for name, text in {"activations.py": HOSTILE, **(files or {})}.items():
            (folder / name).write_text(text)
        clients.append(WorkerClient(folder, limits or Limits(call_timeout_s=10), mode, zygote))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


def processes_with(marker: str) -> list[int]:
    """Host processes whose command line holds `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def new_marker() -> str:
    """An argument of `sleep` no other process has: seconds and a random fraction."""
    return f"1000.{secrets.randbelow(10**9):09d}"


@pytest.mark.parametrize("hang", ["spin", "spin_ignoring_alarm"])
def test_a_hung_call_times_out_and_the_worker_is_replaced(
    make_client: MakeClient, hang: str
) -> None:
    client = make_client(Limits(call_timeout_s=1))
    remote = SandboxImpl(client, "activations")
    before = remote.ok
    started = time.monotonic()
    timed_out = r"activations\.\w+\(\.\.\.\) did not finish within 1 s"
    with pytest.raises(SubmissionTimeout, match=timed_out):
        getattr(remote, hang)()
    assert time.monotonic() - started < 5
    assert SandboxImpl(client, "activations").ok() == "ok"  # a fresh worker
    with pytest.raises(SubmissionCrashed, match="previous process"):
        before()


def test_the_time_of_an_exercise_is_bounded_and_costs_no_other(make_client: MakeClient) -> None:
    client = make_client(Limits(call_timeout_s=1, exercise_timeout_s=1.5, total_timeout_s=10),
                         files={"losses.py": HOSTILE})
    with pytest.raises(SubmissionTimeout, match=r"within 1 s \(an endless loop\?\)"):
        SandboxImpl(client, "activations").spin()
    spin = SandboxImpl(client, "activations").spin  # a new worker (its start is not counted)
    started = time.monotonic()
    with pytest.raises(SubmissionTimeout, match=r"within 0\.\d\d s, all the time activations "
                                                r"had left"):
        spin()
    assert time.monotonic() - started < 0.9  # only what was left of the 1.5 s
    with pytest.raises(SubmissionTimeout, match=r"^the submission's activations used up its time "
                                                r"\(1\.5 s\) before the import of activations"):
        SandboxImpl(client, "activations")
    # Another exercise of the same submission has all of its own time.
    losses = SandboxImpl(client, "losses")
    assert losses.ok() == "ok"
    with pytest.raises(SubmissionTimeout, match=r"within 1 s \(an endless loop\?\)"):
        losses.spin()
    assert client.used_by["losses"] >= 1 and client.used_by["activations"] >= 1.5


def test_the_total_time_of_a_submission_is_bounded(make_client: MakeClient) -> None:
    client = make_client(Limits(call_timeout_s=1, exercise_timeout_s=10, total_timeout_s=1.5),
                         files={"losses.py": HOSTILE})
    with pytest.raises(SubmissionTimeout):
        SandboxImpl(client, "activations").spin()
    spin = SandboxImpl(client, "losses").spin  # a new worker (its start is not counted)
    started = time.monotonic()
    with pytest.raises(SubmissionTimeout):
        spin()
    assert time.monotonic() - started < 0.9  # only what was left of the 1.5 s
    with pytest.raises(SubmissionTimeout, match=r"^the submission used up its total time "
                                                r"\(1\.5 s, all exercises\)"):
        SandboxImpl(client, "perceptron")


@pytest.mark.parametrize(("call", "arg", "message"), [
    ("exit_now", 3, r"died \(exit code 3\) during activations\.exit_now\(\.\.\.\)"),
    ("sys_exit", 4, r"died \(exit code 4\) during activations\.sys_exit"),
    ("kill_self", None, r"was killed by SIGKILL"),
])
def test_a_worker_that_dies_fails_the_call_and_is_replaced(
    make_client: MakeClient, call: str, arg: int | None, message: str
) -> None:
    client = make_client()
    function = getattr(SandboxImpl(client, "activations"), call)
    with pytest.raises(SubmissionCrashed, match=message):
        function() if arg is None else function(arg)
    assert SandboxImpl(client, "activations").ok() == "ok"


def test_an_exercise_that_kills_its_import_fails_alone(make_client: MakeClient) -> None:
    client = make_client(files={"losses.py": "import os\nos._exit(5)\n"})
    for _ in range(2):  # the second time from memory, without a new worker
        with pytest.raises(ExerciseImportError, match=r"died \(exit code 5\) during the import "
                                                      r"of losses\.py"):
            SandboxImpl(client, "losses")
    assert SandboxImpl(client, "activations").ok() == "ok"


def test_the_memory_limit_gives_a_memory_error(make_client: MakeClient) -> None:
    client = make_client(Limits(memory_bytes=256 * 2**20))
    remote = SandboxImpl(client, "activations")
    with pytest.raises(MemoryError):
        remote.hog(2**30)
    assert remote.hog(2**20) == 2**17  # the same worker goes on


@needs_root
def test_the_memory_of_all_the_submissions_processes_is_bounded(make_client: MakeClient) -> None:
    if not os.access("/sys/fs/cgroup", os.W_OK) and not os.access("/sys/fs/cgroup/memory", os.W_OK):
        pytest.skip("no writable memory cgroup here: only the per-process limit holds")
    client = make_client(Limits(memory_bytes=256 * 2**20))
    codes = SandboxImpl(client, "activations").hog_in_children(6, 200 * 2**20)
    assert -9 in codes  # 1.2 GB in all, over 256 MiB + the tree's margin: the OOM killer ends some


# Every mode this machine can run: `drop` as root, here with uid 0 (the Python installation may
# not be readable by another user); its staging and clean-up are what this test is about.
MODES = sorted({default_mode(), "none", *(["drop"] if os.geteuid() == 0 else [])})


@pytest.mark.parametrize("mode", MODES)
def test_daemons_and_their_siblings_are_gone_with_the_worker(
    make_client: MakeClient, mode: str
) -> None:
    client = make_client(Limits(uid=0) if mode == "drop" else None, mode=mode)
    remote = SandboxImpl(client, "activations")
    daemon_marker, crowd_marker = new_marker(), new_marker()
    assert remote.daemon(daemon_marker) and remote.spawn(crowd_marker, 20) == 20
    deadline = time.monotonic() + 5
    while len(processes_with(daemon_marker) + processes_with(crowd_marker)) < 21:
        assert time.monotonic() < deadline, "the submission's processes did not start"
        time.sleep(0.05)
    client.stop()
    assert processes_with(daemon_marker) == [] and processes_with(crowd_marker) == []


def test_the_environment_is_scrubbed(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIT_TEST_SECRET_TOKEN", "s3cr3t-token")
    env = SandboxImpl(make_client(), "activations").environment()
    assert "s3cr3t-token" not in repr(env)
    assert set(env) <= {"PATH", "HOME", "LANG", "TMPDIR", "USER", "LOGNAME", *THREAD_VARS}


def test_output_is_cut_at_its_limit(make_client: MakeClient) -> None:
    client = make_client(Limits(output_bytes=1024))
    assert SandboxImpl(client, "activations").shout(100_000) == 100_000
    text = client.take_output()
    assert text == "[printed 100000 bytes; the first 1024 are kept]\n" + "x" * 1024
    assert client.take_output() == ""


def test_output_past_the_file_size_limit_is_dropped_not_an_error(make_client: MakeClient) -> None:
    # Honest code that prints a lot: more than the output file may hold (file_bytes) is never
    # an OSError (File too large) in the submission's own call.
    client = make_client(Limits(file_bytes=2**20, output_bytes=4096))
    remote = SandboxImpl(client, "activations")
    assert remote.shout(3 * 2**20) == 3 * 2**20
    assert remote.shout(3 * 2**20) == 3 * 2**20  # in one test: the kept part does not grow
    assert client.take_output().startswith(f"[printed {6 * 2**20} bytes; the first 4096 are kept]")


@needs_root
def test_the_worker_runs_without_privileges(make_client: MakeClient) -> None:
    uid, gid = SandboxImpl(make_client(), "activations").whoami()
    assert uid != 0 and gid != 0


@needs_root
def test_the_kit_is_invisible_to_the_worker(make_client: MakeClient) -> None:
    secret = kit_root() / f".sandbox-test-secret-{secrets.token_hex(4)}"
    secret.write_text("the answers")
    secret.chmod(0o644)  # readable by anyone on the host: only the sandbox hides it
    try:
        remote = SandboxImpl(make_client(), "activations")
        for path in (secret, kit_root() / "solutions" / "activations.py"):
            with pytest.raises(OSError):
                remote.read(str(path))
        with pytest.raises(OSError):
            remote.listdir(str(kit_root() / "tests"))
    finally:
        secret.unlink()


@needs_root
def test_nothing_outside_staging_changes(make_client: MakeClient, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # writable by anyone on the host
    remote = SandboxImpl(make_client(), "activations")
    for path in (shared / "pwned", kit_root() / "pwned", Path("/usr/pwned")):
        with pytest.raises(OSError):
            remote.write(str(path))
        assert not path.exists()
    name = f"/tmp/sandbox-test-{secrets.token_hex(4)}"
    assert remote.write(name)  # the worker's own /tmp...
    assert not Path(name).exists()  # ...is not the host's
    assert remote.write("written.txt")  # staging itself is writable


@needs_root
def test_the_worker_has_no_network(make_client: MakeClient) -> None:
    with pytest.raises(OSError):
        SandboxImpl(make_client(), "activations").connect()


SUITE = '''
def test_ok(impl):
    assert impl.ok() == "ok"


def test_hang(impl):
    impl.spin()


def test_print(impl):
    assert impl.shout(12) == 0


def test_daemon(impl):
    assert impl.daemon("{marker}")
'''
# An exercise whose import never ends: its tests time out at setup; the others still run.
HANGING_SUITE = '''
def test_hangs_at_import(impl):
    impl.mse
'''


def test_a_sandboxed_pytest_run_reports_timeouts_and_leaves_nothing(tmp_path: Path) -> None:
    submission, suite = tmp_path / "submission", tmp_path / "tests" / "public"
    submission.mkdir()
    suite.mkdir(parents=True)
    (submission / "activations.py").write_text(HOSTILE)
    marker = new_marker()
    (suite / "test_activations.py").write_text(SUITE.replace("{marker}", marker))
    (submission / "losses.py").write_text("while True:\n    pass\n")
    (suite / "test_losses.py").write_text(HANGING_SUITE)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "grader.suites.plugin", "-p",
         "pytest_jsonreport.plugin", "--json-report", f"--json-report-file={report}",
         "-p", "no:cacheprovider", "--impl", str(submission), "--sandbox",
         "--sandbox-limit", "call_timeout_s=1", str(suite / "test_losses.py"),
         str(suite / "test_activations.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(kit_root()), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    tests = {t["nodeid"].rsplit("::", 1)[1]: t for t in json.loads(report.read_text())["tests"]}
    assert {name: outcome_of(t)[0] for name, t in tests.items() if name != "test_hangs_at_import"
            } == {"test_ok": "passed", "test_hang": "timeout", "test_print": "failed",
                  "test_daemon": "passed"}, result.stdout[-3000:]
    hung = tests["test_hangs_at_import"]
    assert hung["setup"]["outcome"] == "failed"
    assert str(hung["setup"]["longrepr"]).startswith("SubmissionTimeout: the import of ")
    assert hung["metadata"][FAILURE_METADATA]["setup"]["kind"] == "timeout"
    assert outcome_of(hung)[:2] == ("timeout", "the import of losses.py did not finish within "
                                    "1 s (an endless loop?); the submission's process was stopped")
    assert "submission output" in result.stdout and "x" * 12 in result.stdout
    assert processes_with(marker) == []


GRADER = '''
import sys, time
from pathlib import Path
from grader.sandbox.client import WorkerClient
from grader.sandbox.remote import SandboxImpl

client = WorkerClient(Path(sys.argv[1]), mode=sys.argv[3])
SandboxImpl(client, "activations").daemon(sys.argv[2])
print("ready", flush=True)
time.sleep(60)
'''


@pytest.mark.parametrize("mode", sorted({default_mode(), "none"}))
def test_a_grader_killed_outright_leaves_nothing_behind(tmp_path: Path, mode: str) -> None:
    (tmp_path / "activations.py").write_text(HOSTILE)
    (tmp_path / "tmp").mkdir()  # the killed grader's private files land here
    marker = new_marker()
    grader = subprocess.Popen(
        [sys.executable, "-c", GRADER, str(tmp_path), marker, mode], stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(kit_root()), "TMPDIR": str(tmp_path / "tmp")},
        start_new_session=True,
    )
    try:
        assert grader.stdout.readline() == b"ready\n"  # type: ignore[union-attr]
        assert processes_with(marker)
    finally:
        os.killpg(grader.pid, 9)  # the grader and its process group, without warning
        grader.wait()
    deadline = time.monotonic() + 5
    # The daemon, and the supervisor and keeper (their command line names the submission).
    while processes_with(marker) or processes_with(str(tmp_path)):
        assert time.monotonic() < deadline, "the sandbox outlived the grader"
        time.sleep(0.05)
