"""What the submission's process may use: time, memory, output, files, processes; its environment.

The grader enforces the time limits itself (it stops waiting, then kills); the kernel enforces
the rest through resource limits set in the worker before it runs any submission code (on
Windows, in the `portable` mode, there are none: only the time limits hold).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from grader.kit import EXERCISES

KiB, MiB, GiB = 2**10, 2**20, 2**30
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*$", re.IGNORECASE)
UNITS = {"": 1, "k": KiB, "m": MiB, "g": GiB}
# Numerical libraries start one thread per core unless told otherwise; one worker is one core.
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
MINIMAL_PATH = "/usr/local/bin:/usr/bin:/bin"
# What the GPU's driver and CUDA read from the environment: where the driver's libraries are
# (containers put them in folders of their own), and which devices this process may use. The
# worker sees the GPU exactly when the grader does; nothing else of the grader's goes through.
DRIVER_VARS = ("LD_LIBRARY_PATH", "CUDA_VISIBLE_DEVICES")
DRIVER_PREFIXES = ("NVIDIA_",)
# The default time of one exercise's calls (Limits.exercise_timeout_s), which the total counts.
EXERCISE_TIMEOUT_S = 40.0


@dataclass(frozen=True)
class Limits:
    """Every limit of one submission's sandbox, with its default."""

    # One call (a test's single use of the submission). Room for the first call of matmul, which
    # imports PyTorch: 2-7 s on a busy 2-core machine.
    call_timeout_s: float = 20.0
    # All calls of one exercise's tests together: an exercise that hangs in every call loses its
    # own tests, never another's.
    exercise_timeout_s: float = EXERCISE_TIMEOUT_S
    # All calls of the submission together (per child pytest): a backstop, the exercises' times
    # added up (6 x 40 s = 240 s). Lower than their sum, one exercise's hangs could cost the
    # exercises graded after it: so it is counted from the number of exercises, not written out,
    # and a new exercise brings its own 40 s. It must stay under the runner's 300 s for a whole
    # run: seven exercises make 280 s; at eight, tests/kit/test_exercise_records.py fails until
    # the run's time is raised.
    total_timeout_s: float = len(EXERCISES) * EXERCISE_TIMEOUT_S
    memory_bytes: int = 2 * GiB  # RLIMIT_DATA: heap and private mappings (not CUDA's reservations)
    output_bytes: int = 64 * KiB  # what a test's report shows of the submission's output
    file_bytes: int = 16 * MiB  # RLIMIT_FSIZE: any one file written, the output file included
    scratch_bytes: int = 64 * MiB  # writable space (staging and /tmp), where a tmpfs is mounted
    reply_bytes: int = 256 * MiB  # the largest message the grader accepts from the worker
    processes: int = 256  # RLIMIT_NPROC of the worker's user: processes and threads
    open_files: int = 256  # RLIMIT_NOFILE
    # The user (and group) the worker runs as when the grader is root. None: a user id of its own
    # for each sandbox, so that no two sandboxes of a batch share RLIMIT_NPROC or can signal each
    # other. 65534 is "nobody".
    uid: int | None = None
    startup_timeout_s: float = 60.0  # starting the worker (not counted in the submission's time)

    @property
    def cpu_seconds(self) -> int:
        """RLIMIT_CPU: a backstop behind the grader's own clock, for every process of the worker.

        A worker never serves more than `total_timeout_s` of calls (one may serve every exercise,
        and it is replaced after a timeout); the margin covers its start and imports.
        """
        return int(self.total_timeout_s) + 30

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Limits:
        return cls(**data)


def limits_from_settings(settings: list[str]) -> Limits:
    """Limits with some changed by "name=value" settings: call_timeout_s=5, memory_bytes=1G."""
    changes: dict[str, Any] = {}
    names = {f.name: f for f in fields(Limits)}
    for setting in settings:
        name, _, value = setting.partition("=")
        name = name.strip()
        if name not in names or not value:
            raise ValueError(f"not a limit setting: {setting!r} (one of {', '.join(names)}=VALUE)")
        if name.endswith("_s"):
            changes[name] = float(value)
        elif name.endswith("_bytes"):
            changes[name] = parse_size(value)
        else:
            changes[name] = int(value)
    return replace(Limits(), **changes)


def parse_size(text: str) -> int:
    """'2G', '64K', '512MiB', '1048576' -> bytes."""
    match = SIZE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r} (write e.g. 2G, 512M, 64K)")
    return int(float(match.group(1)) * UNITS[match.group(2).lower()])


def tasks_of_user(uid: int) -> int:
    """How many processes and threads `uid` runs now (RLIMIT_NPROC counts them all)."""
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(entry.path, "status").read_text()
        except OSError:  # the process ended meanwhile
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields.get("Uid", "-1 ").split()[0]) == uid:
            count += int(fields.get("Threads", "1"))
    return count


def apply_rlimits(limits: Limits, uid: int) -> None:
    """Set the kernel's limits for this process and everything it will start as user `uid`.

    RLIMIT_NPROC counts every task of the user, so the worker's share comes on top of what that
    user already runs (a student's desktop session, other workers of a batch).
    """
    if sys.platform == "win32":  # the Linux modes' limits (`portable` sets its own)
        raise RuntimeError("apply_rlimits: Windows has no setrlimit")
    import resource  # POSIX only: imported where a Linux mode's worker is started

    for which, value in (
        (resource.RLIMIT_DATA, limits.memory_bytes),
        (resource.RLIMIT_FSIZE, limits.file_bytes),
        (resource.RLIMIT_NPROC, tasks_of_user(uid) + limits.processes),
        (resource.RLIMIT_NOFILE, limits.open_files),
        (resource.RLIMIT_CPU, limits.cpu_seconds),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(which, (value, value))


def portable_rlimits(limits: Limits) -> dict[str, int]:
    """The limits a `portable` worker sets on itself, by `resource` name (runtime/portable.py):
    those every POSIX system has, macOS included; none on Windows, which has no setrlimit. No
    RLIMIT_NPROC: there the worker runs as the student's own user, whose desktop session it
    would count."""
    if sys.platform == "win32":
        return {}
    return {"RLIMIT_DATA": limits.memory_bytes, "RLIMIT_FSIZE": limits.file_bytes,
            "RLIMIT_NOFILE": limits.open_files, "RLIMIT_CPU": limits.cpu_seconds,
            "RLIMIT_CORE": 0}


def driver_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of `environ` that the GPU's driver and CUDA need (DRIVER_VARS)."""
    return {name: value for name, value in environ.items()
            if name in DRIVER_VARS or name.startswith(DRIVER_PREFIXES)}


def worker_env(home: str, tmp: str, driver: Mapping[str, str] | None = None) -> dict[str, str]:
    """The worker's whole environment: nothing of the grader's (no tokens, no paths of its own)
    but the GPU driver's variables (`driver_env`), so that it sees the GPU the grader sees."""
    env = {**(driver or {}), "PATH": MINIMAL_PATH, "HOME": home, "LANG": "C.UTF-8",
           "TMPDIR": tmp,
           # getpass.getuser() reads these first: a user id of its own has no passwd entry.
           "USER": "sandbox", "LOGNAME": "sandbox"}
    env.update(dict.fromkeys(THREAD_VARS, "1"))
    if sys.platform == "win32":  # Python cannot seed its hashes, nor sockets start, without it
        env["SYSTEMROOT"] = os.environ.get("SYSTEMROOT", r"C:\Windows")
    return env
