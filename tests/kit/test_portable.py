"""The `portable` isolation mode (grader/sandbox/isolation/portable.py): grading works with it,
the catalogue's timing, exit and crash attacks are contained in it, and its whole path imports
and chooses it where Linux's modules cannot work (macOS and Windows, simulated here).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.kit import kit_root
from grader.sandbox.client import WorkerClient
from grader.sandbox.errors import SubmissionCrashed, SubmissionTimeout
from grader.sandbox.isolation import MODES, can_run, portable, unavailable
from grader.sandbox.limits import Limits
from grader.sandbox.remote import SandboxImpl
from tests.kit.test_attacks import (
    Attack,
    Catalogue,
    check_contained,
    check_scores,
    check_table,
)

KIT = kit_root()
# The attacks whose containment rests on what `portable` has on every OS: the grader's clock,
# and a worker that is its own child (its exit status, its process group). `daemon` is not
# among them: a process that makes a session of its own leaves the group (docs/security.md).
PORTABLE_ATTACKS = ("loop_in_call", "loop_at_import", "loop_in_call_alarm_ignored",
                    "loop_in_every_call", "exit_at_import", "exit_in_call", "sys_exit_at_import")


def grade(*args: str) -> str:
    result = CliRunner().invoke(main, ["--isolation", "portable", *args], obj=KIT)
    assert result.exit_code == 0, result.output
    return result.output


def test_portable_is_a_mode_every_machine_can_run() -> None:
    assert "portable" in MODES
    assert can_run("portable")
    assert unavailable("portable") is None


def test_the_reference_scores_full_marks_and_the_stubs_nothing() -> None:
    assert "total        100.00 / 100.00" in grade("--reference")
    assert "total          0.00 / 100.00" in grade()


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalogue]:
    graded = Catalogue(list(PORTABLE_ATTACKS), tmp_path_factory.mktemp("attacks"), "portable")
    yield graded
    graded.close()


@pytest.mark.parametrize("attack", PORTABLE_ATTACKS)
def test_the_timing_exit_and_crash_attacks_are_contained(attack: str,
                                                          catalogue: Catalogue) -> None:
    spec = Attack.load(attack)
    graded = catalogue.result(attack)
    assert graded.exit == 0, f"{graded.stdout[-2000:]}\n{graded.stderr[-2000:]}"
    check_scores(spec, graded)
    check_table(graded)
    check_contained(spec, graded, catalogue.secret)


CRASHES = '''
import os


def crash():
    os.abort()


def answer():
    return 42


def loop():
    while True:
        pass
'''


def test_a_crash_is_reported_and_the_next_call_gets_a_fresh_worker(tmp_path: Path) -> None:
    (tmp_path / "activations.py").write_text(CRASHES)
    client = WorkerClient(tmp_path, Limits(call_timeout_s=2), "portable")
    try:
        remote = SandboxImpl(client, "activations")
        with pytest.raises(SubmissionCrashed, match=r"SIGABRT|died"):
            remote.crash()
        with pytest.raises(SubmissionTimeout, match=r"activations\.loop\(\.\.\.\) did not"):
            remote.loop()
        assert remote.answer() == 42
    finally:
        client.close()


def test_only_a_connection_that_sends_the_token_is_taken_as_the_worker() -> None:
    """Any local process may connect to the grader's port first: it is closed, and the wait
    goes on for the worker, which alone was told the token."""
    listener, token = portable.listen()
    port = listener.getsockname()[1]
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        intruder = socket.create_connection(("127.0.0.1", port))
        intruder.sendall(b"0" * len(token))
        worker = socket.create_connection(("127.0.0.1", port))
        worker.sendall(token.encode())
        connection = portable.accept_worker(listener, token, sleeper, time.monotonic() + 10)
        assert connection is not None
        assert intruder.recv(1) == b""  # closed by the grader
        connection.sendall(b"hello")
        assert worker.recv(5) == b"hello"
        for sock in (intruder, worker, connection):
            sock.close()
        # Nobody with the token: the wait ends at the deadline.
        assert portable.accept_worker(listener, token, sleeper, time.monotonic() + 0.3) is None
    finally:
        listener.close()
        sleeper.kill()
        sleeper.wait()


PRINTS = '''
def say(text):
    print(text)
    return len(text)
'''


def test_what_the_submission_prints_is_each_call_s_own(tmp_path: Path) -> None:
    (tmp_path / "activations.py").write_text(PRINTS)
    client = WorkerClient(tmp_path, Limits(call_timeout_s=10), "portable")
    try:
        remote = SandboxImpl(client, "activations")
        assert remote.say("first") == 5
        assert client.take_output() == "first\n"
        assert remote.say("second") == 6
        assert client.take_output() == "second\n"
    finally:
        client.close()


# Run in a fresh interpreter as if on another OS. The modules on the portable path are imported
# once on the real platform, so that the standard library and the libraries load their own
# platform's code (theirs to test); the grader's are then forgotten, libc made unreachable and
# sys.platform changed (the Linux-only modules then refuse to import), the grader's imported
# again, and `grade --help` run. On "darwin" (POSIX as Linux is) a real call then goes through
# a portable worker. What it finds is printed as JSON.
SIMULATION = r'''
import ctypes, importlib, json, os, select, signal, socket, sys

PORTABLE_PATH = [
    "grader.cli", "grader.cli.grade", "grader.grading.pipeline", "grader.grading.runner",
    "grader.suites.plugin", "grader.sandbox.client", "grader.sandbox.process",
    "grader.sandbox.remote", "grader.sandbox.limits", "grader.sandbox.isolation",
    "grader.sandbox.isolation.staging", "grader.sandbox.isolation.portable",
    "grader.sandbox.runtime.channel", "grader.sandbox.runtime.wire",
    "grader.sandbox.runtime.worker",
    "grader.sandbox.runtime.portable", "grader.cohort.batch", "click.testing",
]
for name in PORTABLE_PATH:
    importlib.import_module(name)
for name in [n for n in sys.modules if n.split(".")[0] == "grader"]:
    del sys.modules[name]

platform = sys.argv[1]
for name in ("resource", "fcntl"):
    sys.modules[name] = None  # import resource: ImportError, as on Windows
real_cdll = ctypes.CDLL


def cdll(name, *args, **kwargs):
    if name is None:  # libc by the name None: Linux and macOS only
        raise OSError("ctypes.CDLL(None) called on the portable path")
    return real_cdll(name, *args, **kwargs)


ctypes.CDLL = cdll
if platform == "win32":  # what Windows' os, select, signal and socket lack
    for module, names in (
        (os, ("fork", "setsid", "killpg", "getuid", "geteuid", "pread", "pidfd_open")),
        (select, ("poll",)),
        (signal, ("SIGKILL", "SIGXCPU", "SIGXFSZ", "pidfd_send_signal")),
        (socket, ("AF_UNIX", "send_fds", "recv_fds")),
    ):
        for name in names:
            if hasattr(module, name):
                delattr(module, name)
sys.platform = platform

for name in PORTABLE_PATH:
    importlib.import_module(name)

from click.testing import CliRunner
from grader.cli import main
from grader.sandbox.isolation import MODES, can_run, default_mode

help_run = CliRunner().invoke(main, ["--help"])
found = {"default_mode": default_mode(), "can_run": can_run("portable"),
         "others": [mode for mode in MODES if mode != "portable" and can_run(mode)],
         "help_exit": help_run.exit_code, "help": help_run.output}
if platform == "darwin":
    from pathlib import Path
    from grader.sandbox.client import WorkerClient
    from grader.sandbox.limits import Limits
    from grader.sandbox.remote import SandboxImpl

    client = WorkerClient(Path(sys.argv[2]), Limits(call_timeout_s=30))
    try:
        found["call"] = float(SandboxImpl(client, "activations").sigmoid(0.0))
        found["mode"] = client.mode
    finally:
        client.close()
found["linux_modules"] = sorted(
    name for name in ("grader.sandbox.isolation.linux", "grader.sandbox.isolation.supervisor",
                      "grader.sandbox.zygote") if name in sys.modules)
print(json.dumps(found))
'''


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_the_portable_path_imports_and_is_chosen_without_linux(platform: str,
                                                               tmp_path: Path) -> None:
    (tmp_path / "activations.py").write_text((KIT / "solutions" / "activations.py").read_text())
    run = subprocess.run([sys.executable, "-c", SIMULATION, platform, str(tmp_path)], cwd=KIT,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout.splitlines()[-1])
    assert found["default_mode"] == "portable" and found["can_run"]
    assert found["others"] == []  # each of them needs Linux's calls
    assert found["help_exit"] == 0 and "--isolation" in found["help"], found["help"]
    assert found["linux_modules"] == []
    if platform == "darwin":  # a real call, through a worker of the mode `auto` chose
        assert found["mode"] == "portable" and found["call"] == 0.5
