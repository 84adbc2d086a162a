"""The worker's start in the `portable` mode (grader/sandbox/isolation/portable.py), with what
every OS has: no fds passed, no fork, no system call of Linux's.

Started as `python -I -S -B -u -c PORTABLE_BOOT SYS_PATH` in its staging folder, it reads its
spec from stdin (one JSON object, then EOF): the grader's port on 127.0.0.1, the token that
proves this is the process the grader started (any local process may connect to the port), and
the resource limits to set, by name (none on Windows). The limits are set first, before NumPy or
anything of the submission is imported, as the Linux modes set them before the worker's exec.
Then it serves on the socket as worker.py does on fds 3 and 4.

Only the standard library is imported at module level: the wire format imports NumPy.
"""

from __future__ import annotations

import json
import socket
import sys
from typing import Any


def main() -> None:
    spec = json.loads(sys.stdin.buffer.read())
    set_limits(spec["rlimits"])
    sock = socket.create_connection(("127.0.0.1", spec["port"]))
    # Frames are small and each waits for an answer: Nagle's delay would cost every call.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(spec["token"].encode())
    from .channel import Channel, SocketTransport
    from .worker import main as serve

    serve(Channel(SocketTransport(sock)))


def set_limits(rlimits: dict[str, Any]) -> None:
    """setrlimit for each limit named (RLIMIT_DATA: bytes, ...), soft and hard alike, never above
    a hard limit already set (only root may raise one). A limit this OS lacks, or refuses (macOS
    caps RLIMIT_NOFILE), is left as it is: the grader's clock stays the time limit."""
    if sys.platform == "win32" or not rlimits:  # Windows has no setrlimit (nor asks for one)
        return
    import resource

    for name, value in rlimits.items():
        which = getattr(resource, name, None)
        if which is None:
            continue
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            continue
