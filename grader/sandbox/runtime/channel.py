"""The sandbox's channel: frames of one JSON header and raw byte buffers, over two pipes (the
Linux modes) or a local socket (`portable`).

    frame = | header length: u32 LE | buffer count: u32 LE | each buffer's length: u64 LE |
              header: the message, a UTF-8 JSON object | buffers |

What a header's values mean is wire.py's (nodes); which keys a message has, protocol.py's.
"""

from __future__ import annotations

import json
import os
import select
import socket
import struct
import sys
from collections.abc import Callable
from json import encoder as json_encoder
from typing import Any

# CPython's C encoder, not a public name (None without the _json accelerator); what
# compact_json_encoder calls it with is pinned by tests/kit/test_wire_json.py.
c_make_encoder = getattr(json_encoder, "c_make_encoder", None)

# The worker's channel: requests on fd 3, replies on fd 4 (0, 1 and 2 as usual).
REQUEST_FD, REPLY_FD = 3, 4
FRAME = struct.Struct("<II")  # header length, buffer count; then the buffers' lengths
DECODER = json.JSONDecoder()
MAX_HEADER_BYTES = 64 * 2**20
MAX_BUFFERS = 2**20  # in one frame: its table of lengths is at most 8 MiB
# A read asks for what a frame still lacks, within these: a small frame comes whole in one read.
READ_MIN, READ_MAX = 2**16, 2**20
MAX_BUFFER_BYTES = 2**31


def compact_json_encoder() -> Callable[[Any], str]:
    """`json.dumps(value, separators=(",", ":"), check_circular=False)`, its encoder made once.

    `JSONEncoder.encode` builds CPython's C encoder anew for each value, a third of the cost of
    encoding a small message, and each call through the sandbox sends two. No circular check
    (a dict entry for every container): messages are nodes, built fresh, at most MAX_DEPTH deep.
    """
    if c_make_encoder is None:  # a Python without the _json accelerator
        return json.JSONEncoder(separators=(",", ":"), check_circular=False).encode

    def refuse(value: Any) -> Any:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    # As JSONEncoder.iterencode makes it: markers (None: no circular check), default, string
    # encoder, indent, key and item separators, sort_keys, skipkeys, allow_nan.
    encode = c_make_encoder(None, refuse, json_encoder.encode_basestring_ascii, None, ":", ",",
                            False, False, True)
    return lambda value: "".join(encode(value, 0))


JSON_ENCODE = compact_json_encoder()


class ProtocolError(Exception):
    """A frame or node that this format does not allow (sent by a broken or hostile peer)."""


class ChannelClosed(Exception):
    """The other side closed the channel (its process ended)."""


# --- frames ----------------------------------------------------------------------------------


class Pipes:
    """A transport over a pair of pipe ends (the Linux modes' fds 3 and 4)."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd, self.write_fd = read_fd, write_fd

    def fileno(self, for_write: bool) -> int:
        return self.write_fd if for_write else self.read_fd

    def set_blocking(self, blocking: bool) -> None:
        if sys.platform == "win32":  # pipes are the Linux modes' transport
            raise RuntimeError("Pipes: a pipe cannot be made non-blocking on Windows")
        for fd in (self.read_fd, self.write_fd):
            os.set_blocking(fd, blocking)

    def read(self, n: int) -> bytes:
        return os.read(self.read_fd, n)

    def write(self, data: memoryview) -> int:
        return os.write(self.write_fd, data)

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            os.close(fd)


class SocketTransport:
    """A transport over one connected socket (the `portable` mode: os.read cannot read a socket
    on Windows, and a socket is what every OS can wait on with select)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def fileno(self, for_write: bool) -> int:
        return self.sock.fileno()

    def set_blocking(self, blocking: bool) -> None:
        self.sock.setblocking(blocking)

    def read(self, n: int) -> bytes:
        return self.sock.recv(n)

    def write(self, data: memoryview) -> int:
        return self.sock.send(data)

    def close(self) -> None:
        self.sock.close()


Transport = Pipes | SocketTransport


class Channel:
    """Frames over a transport: a pair of pipe ends, or a socket.

    Without `wait`, reads and writes block as long as they take (the worker's side). With it,
    the transport is made non-blocking and `wait(fd, for_write)` is called before each read and
    whenever a write would block: it returns when `fd` is ready or raises (the grader's side,
    which enforces its deadlines there).
    """

    def __init__(
        self,
        transport: Transport,
        wait: Callable[[int, bool], None] | None = None,
        max_buffer_bytes: int = MAX_BUFFER_BYTES,
    ) -> None:
        self.transport = transport
        self.wait = wait
        self.max_buffer_bytes = max_buffer_bytes
        self.pending = bytearray()
        if wait is not None:
            transport.set_blocking(False)

    def send(self, message: dict[str, Any], buffers: list[bytes]) -> None:
        header = JSON_ENCODE(message).encode()
        lengths = struct.pack(f"<{len(buffers)}Q", *map(len, buffers))
        self._write_all(b"".join([FRAME.pack(len(header), len(buffers)), lengths, header,
                                  *buffers]))

    def recv(self) -> tuple[dict[str, Any], list[bytearray]]:
        # A small frame usually comes whole with the first read: it is cut out of `pending`
        # where it lies, rather than read field by field.
        pending = self.pending
        if len(pending) < FRAME.size:
            pending = self._fill(FRAME.size)
        header_len, count = FRAME.unpack_from(pending)
        if header_len > MAX_HEADER_BYTES or count > MAX_BUFFERS:
            raise ProtocolError(f"frame too large ({header_len} bytes of header, {count} buffers)")
        header_start = FRAME.size + 8 * count
        if len(pending) < header_start:
            pending = self._fill(header_start)
        lengths = struct.unpack_from(f"<{count}Q", pending, FRAME.size)
        buffers_len = sum(lengths)
        if buffers_len > self.max_buffer_bytes:
            raise ProtocolError(f"frame too large ({header_len} + {buffers_len} bytes)")
        start = header_start + header_len  # of the buffers
        end = start + buffers_len
        if len(pending) < start:
            pending = self._fill(start)
        try:
            text = pending[header_start:start].decode()
            message, header_end = DECODER.raw_decode(text)
        except (ValueError, RecursionError) as err:
            raise ProtocolError(f"unreadable frame header: {err}") from err
        if header_end != len(text) or type(message) is not dict:
            raise ProtocolError("a frame header that is not one JSON object")
        if len(pending) < end:
            pending = self._fill(end)
        buffers = []
        for n in lengths:
            buffers.append(pending[start:start + n])
            start += n
        del pending[:end]
        return message, buffers

    def _fill(self, n: int) -> bytearray:
        """`pending`, once it holds at least `n` bytes."""
        pending = self.pending
        while len(pending) < n:
            if self.wait is not None:
                self.wait(self.transport.fileno(False), False)
            missing = n - len(pending)
            try:
                chunk = self.transport.read(READ_MIN if missing < READ_MIN else
                                            min(missing, READ_MAX))
            except BlockingIOError:  # ready, then not: wait again
                continue
            except ConnectionError as err:  # a socket reset by a peer that died
                raise ChannelClosed("the channel was closed") from err
            if not chunk:
                raise ChannelClosed("the channel was closed")
            pending += chunk
        return pending

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[self.transport.write(view):]
            except BlockingIOError:
                self.wait(self.transport.fileno(True), True)  # type: ignore[misc]
            except ConnectionError as err:  # a broken pipe, or a reset socket
                raise ChannelClosed("the channel was closed") from err


def wait_ready(fd: int, for_write: bool, timeout_s: float | None) -> bool:
    """Whether `fd` became ready within `timeout_s` (None: wait as long as it takes). The Linux
    modes' wait (poll: any fd number, unlike select); `portable` waits with select instead."""
    if sys.platform == "win32":
        raise RuntimeError("wait_ready: Windows has no poll")
    poller = select.poll()
    poller.register(fd, select.POLLOUT if for_write else select.POLLIN)
    return bool(poller.poll(None if timeout_s is None else max(0, int(timeout_s * 1000))))
