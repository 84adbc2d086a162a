"""Workers forked from the batch's zygote are the workers `python -I` would start.

The limits, crashes and attacks of tests/kit/test_sandbox_limits.py run through the zygote too
(its `make_client` fixture starts workers both ways). Here: what only a fork could get wrong,
compared with a worker started by exec.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from grader.sandbox.client import WorkerClient
from grader.sandbox.errors import SandboxError, SubmissionCrashed
from grader.sandbox.remote import SandboxImpl
from grader.sandbox.zygote import running_zygote

SUBMISSION = '''
import os
import random
import sys

import numpy as np


def open_fds():
    return sorted(int(fd) for fd in os.listdir("/proc/self/fd"))


def initial_environment():
    with open("/proc/self/environ", "rb") as file:
        return file.read().decode(errors="replace")


def draws():
    return [random.random(), float(np.random.random())]


def preloaded():
    return "torch" in sys.modules


def forge_status():
    """Try every descriptor a fork might have kept: a status line would end the sandbox."""
    written = []
    for fd in range(5, 64):
        try:
            os.write(fd, b'{"exit": 0}\\n')
            written.append(fd)
        except OSError:
            pass
    return written


def exit_now():
    os._exit(3)


def shout():
    print("to the output file")
    return True
'''

Make = Callable[..., SandboxImpl]  # make(forked=True): a submission's module, in a worker


@pytest.fixture(scope="module")
def zygote() -> Iterator[Path]:
    with running_zygote() as socket_path:
        yield socket_path


@pytest.fixture
def make(tmp_path: Path, zygote: Path) -> Iterator[Make]:
    clients: list[WorkerClient] = []

    def make_client(forked: bool) -> SandboxImpl:
        folder = tmp_path / f"submission{len(clients)}"
        folder.mkdir()
        (folder / "activations.py").write_text(SUBMISSION)
        clients.append(WorkerClient(folder, zygote=zygote if forked else None))
        return SandboxImpl(clients[-1], "activations")

    yield make_client
    for client in clients:
        client.close()


def test_a_forked_worker_holds_the_descriptors_of_an_execd_one(make: Make) -> None:
    assert make(forked=True).open_fds() == make(forked=False).open_fds()


def test_no_descriptor_of_the_worker_reaches_its_status(make: Make) -> None:
    remote = make(forked=True)
    assert remote.forge_status() == []
    assert remote.preloaded()  # the worker is still the same, alive and serving


def test_the_initial_environment_holds_nothing_of_the_grader(
    make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIT_TEST_SECRET_TOKEN", "s3cr3t-token")
    initial = make(forked=True).initial_environment()
    assert "s3cr3t-token" not in initial
    assert {line.split("=", 1)[0] for line in initial.split("\0") if line} <= {
        "PATH", "LANG", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
        "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
    }


def test_each_forked_worker_draws_its_own_random_numbers(make: Make) -> None:
    assert make(forked=True).draws() != make(forked=True).draws()


def test_the_libraries_are_already_imported(make: Make) -> None:
    assert make(forked=True).preloaded()
    assert not make(forked=False).preloaded()


def test_a_forked_worker_that_dies_is_replaced_by_another_fork(make: Make) -> None:
    remote = make(forked=True)
    with pytest.raises(SubmissionCrashed, match="exit code 3"):
        remote.exit_now()
    assert remote.shout() is True
    assert "to the output file" in remote._client.take_output()


def test_a_zygote_that_is_gone_fails_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "activations.py").write_text(SUBMISSION)
    client = WorkerClient(tmp_path, zygote=tmp_path / "no-such-socket")
    try:
        with pytest.raises(SandboxError, match="zygote did not answer"):
            SandboxImpl(client, "activations").shout()
    finally:
        client.close()
