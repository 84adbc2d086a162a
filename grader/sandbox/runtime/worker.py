"""The submission's side of the sandbox: imports the staged exercise files and serves calls.

Started by an isolation backend (grader/sandbox/isolation/) as `python -I -B -u` in /submission, it
reads requests on fd 3 and writes replies on fd 4 (channel.py frames), or in the `portable` mode on
a socket (portable.py); fds 1 and 2 go to the output file the grader reads an excerpt of.
Nothing here is trusted: the submission it imports can change any of it. That is fine, because only
data leaves this process, and the grader judges that data against values this process never
sees.

The messages are protocol.py's: the grader's requests (import, getattr, setattr, call,
protocol, run) each get one reply. While serving a call, the worker may send its own request,
`Op.CALLBACK` (call back a function the test passed), and serves the grader's requests until that
callback's reply comes.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from .channel import REPLY_FD, REQUEST_FD, Channel, ChannelClosed, Pipes
from .loading import ExerciseImportError, load_exercise
from .output import OutputBudget, keep_output
from .protocol import Attribute, Builtin, Key, Node, Op
from .wire import Codec, describe_exception, rebuild_exception

MAX_WARNINGS = 10
# The np.errstate modes that work here; "call" and "log" need an object of the grader's process
# and become "warn".
ERRSTATE_MODES = ("ignore", "warn", "raise", "print")


class Callback:
    """A function of the test's: calling it runs it in the grader's process."""

    def __init__(self, server: Server, callback_id: int) -> None:
        self.server, self.callback_id = server, callback_id

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.server.call_back(self.callback_id, list(args), kwargs)

    def __repr__(self) -> str:
        return f"<the test's function #{self.callback_id}>"

    def __del__(self) -> None:
        self.server.released_callbacks.append(self.callback_id)


class WorkerCodec(Codec):
    """Objects that are not data stay here and cross as handles; callbacks go back as themselves."""

    adopt_mirrors = True

    def __init__(self, server: Server) -> None:
        super().__init__()
        self.server = server
        self.handles: dict[int, Any] = {}
        self.handle_of: dict[int, int] = {}  # id(object) -> handle (held: ids stay valid)
        self.times_sent: dict[int, int] = {}
        self.next_handle = 1

    def mirror_id(self, obj: Any, seen: Any) -> int | None:
        return self.mirrors.find(obj)

    def encode_other(self, value: Any) -> dict[str, Any]:
        if isinstance(value, Callback):
            return {Node.TAG: Node.CALLBACK, Node.ID: value.callback_id}
        handle = self.handle_of.get(id(value))
        if handle is None:
            handle, self.next_handle = self.next_handle, self.next_handle + 1
            self.handles[handle] = value
            self.handle_of[id(value)] = handle
            self.times_sent[handle] = 0
        self.times_sent[handle] += 1
        return {Node.TAG: Node.HANDLE, Node.ID: handle, Node.TYPE: type(value).__name__}

    def decode_other(self, node: dict[str, Any]) -> Any:
        tag = node[Node.TAG]
        if tag == Node.HANDLE:
            return self.handles[node[Node.ID]]
        if tag == Node.CALLBACK:
            return Callback(self.server, node[Node.ID])
        return super().decode_other(node)

    def release(self, handle: int, times: int) -> None:
        """The grader dropped its proxy, which had seen the handle `times` times."""
        left = self.times_sent.get(handle, 0) - times
        if left > 0:
            self.times_sent[handle] = left
            return
        obj = self.handles.pop(handle, None)
        self.times_sent.pop(handle, None)
        if obj is not None:
            self.handle_of.pop(id(obj), None)

    def dropped_mirrors(self) -> list[int]:
        """Mirrored objects nothing holds but the mirror table: the submission let them go."""
        objects = self.mirrors.objects
        # getrefcount sees the table's reference and its own argument's.
        dropped = [mid for mid in list(objects) if sys.getrefcount(objects[mid]) <= 2]
        if dropped:
            self.mirrors.remove(dropped)
        return dropped


class Server:
    def __init__(self, channel: Channel, staging: Path, output: OutputBudget) -> None:
        self.channel, self.staging, self.output = channel, staging, output
        self.codec = WorkerCodec(self)
        self.released_callbacks: list[int] = []
        # The caller's np.errstate: a request carries it only when it changed.
        self.errstate: dict[str, str] | None = None
        # Every warning of a call is noted (up to a few) and raised again in the test, where
        # the test's own filters decide what it does.
        self.noted: list[list[Any]] = []
        warnings.simplefilter("always")
        warnings.showwarning = self.note_warning

    def note_warning(self, message: Warning | str, category: type[Warning], filename: str,
                     lineno: int, file: TextIO | None = None, line: str | None = None) -> None:
        if len(self.noted) < MAX_WARNINGS:
            self.noted.append([[c.__name__ for c in category.__mro__], str(message)])

    def run(self) -> None:
        self.send({Key.HELLO: os.getpid()}, {})
        while True:
            try:
                message, buffers = self.channel.recv()
            except ChannelClosed:
                return
            self.serve(message, buffers)

    # --- messages ----------------------------------------------------------------------------

    def send(self, message: dict[str, Any], values: dict[str, Any]) -> None:
        try:
            message, buffers = self.codec.pack(message, values)
        except Exception as err:  # a result that cannot cross (an ndarray subclass...)
            self.codec.mirrors.invalidate()
            message, buffers = self.codec.pack({Key.EXCEPTION: describe_exception(err)}, {})
        dropped = self.codec.dropped_mirrors()
        if dropped:
            message[Key.DROP] = dropped
        if self.released_callbacks:
            message[Key.CALLBACKS_RELEASED], self.released_callbacks = self.released_callbacks, []
        self.channel.send(message, buffers)

    def receive(self, message: dict[str, Any], buffers: list[bytearray]) -> None:
        """What every message from the grader may carry besides its request or reply."""
        self.codec.apply_mirrors(message, buffers)
        for handle, times in message.get(Key.RELEASE, ()):
            self.codec.release(handle, times)

    def serve(self, message: dict[str, Any], buffers: list[bytearray]) -> None:
        """Run one request of the grader's and send the reply."""
        self.receive(message, buffers)
        if type(message.get(Key.OUTPUT_KEPT)) is int:
            self.output.kept_bytes = message[Key.OUTPUT_KEPT]
        self.output.begin()
        if Key.ERRSTATE in message:
            self.errstate = message[Key.ERRSTATE]
        apply_errstate(self.errstate)  # again each time: the submission may have changed it
        outer, self.noted = self.noted, []
        try:
            reply: dict[str, Any] = {}
            values = {Key.RESULT: self.dispatch(message, buffers)}
        except StopIteration:
            reply, values = {Key.STOP: True}, {}
        except ExerciseImportError as err:
            reply, values = {Key.IMPORT_ERROR: str(err)}, {}
        except SystemExit:
            raise  # the submission asked this process to end: it ends
        except BaseException as err:
            described = describe_exception(err, self.student_traceback(err))
            reply, values = {Key.EXCEPTION: described}, {}
        if self.noted:
            reply[Key.WARNINGS] = self.noted
        self.noted = outer
        dropped = self.output.take_dropped()
        if dropped:
            reply[Key.OUTPUT_DROPPED] = dropped
        self.send(reply, values)

    def dispatch(self, message: dict[str, Any], buffers: list[bytearray]) -> Any:
        op = message[Key.OP]
        decode = self.codec.decode
        if op == Op.IMPORT:
            return load_exercise(self.staging, message[Key.EXERCISE])
        target: Any = self.codec.handles[message[Key.HANDLE]] if Key.HANDLE in message else None
        if op == Op.CALL:
            args = decode(message[Key.ARGS], buffers)
            kwargs = decode(message[Key.KWARGS], buffers) if Key.KWARGS in message else {}
            return target(*args, **kwargs)
        if op == Op.GETATTR:
            value = getattr(target, message[Key.NAME])
            # A function, method or class stays what it is: the grader may keep its proxy.
            return {Attribute.VALUE: value,
                    Attribute.FIXED: inspect.isroutine(value) or isinstance(value, type)}
        if op == Op.SETATTR:
            return setattr(target, message[Key.NAME], decode(message[Key.VALUE], buffers))
        if op == Op.PROTOCOL:
            return protocol(message[Key.FUNCTION], target, *decode(message[Key.ARGS], buffers))
        if op == Op.RUN:
            return self.run_scenario(message, decode(message[Key.ARGS], buffers),
                                     decode(message[Key.KWARGS], buffers))
        raise ValueError(f"unknown request {op!r}")

    def call_back(self, callback_id: int, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Call the test's function in the grader's process; serve its requests meanwhile."""
        self.send({Key.OP: Op.CALLBACK, Key.CALLBACK_ID: callback_id},
                  {Key.ARGS: args, Key.KWARGS: kwargs})
        while True:
            message, buffers = self.channel.recv()
            if Key.OP in message:
                self.serve(message, buffers)
                continue
            self.receive(message, buffers)
            if Key.EXCEPTION in message:
                raise rebuild_exception(message[Key.EXCEPTION])
            return self.codec.decode(message[Key.RESULT], buffers)

    # --- helpers -----------------------------------------------------------------------------

    def run_scenario(self, message: dict[str, Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
        """A test's scenario: a top-level function of the test file, shipped as source."""
        module = load_exercise(self.staging, message[Key.EXERCISE])
        name = message[Key.FUNCTION]
        namespace: dict[str, Any] = {"np": np, "__name__": "scenario"}
        exec(compile(message[Key.SOURCE], f"<scenario {name}>", "exec"), namespace)
        return namespace[name](module, *args, **kwargs)

    def student_traceback(self, err: BaseException) -> str:
        """The frames of the submission's own files, as Python prints them."""
        frames = [f for f in traceback.extract_tb(err.__traceback__)
                  if Path(f.filename).parent == self.staging]
        if not frames:
            return ""
        lines = ["Traceback of the submission's code (most recent call last):"]
        for frame in frames:
            lines.append(f'  File "{Path(frame.filename).name}", line {frame.lineno}, '
                         f"in {frame.name}")
            if frame.line:
                lines.append(f"    {frame.line}")
        return "\n".join(lines)


def protocol(name: str, target: Any, *args: Any) -> Any:
    """The builtin operations a proxy forwards: iteration, len, indexing, truth, membership."""
    if name == Builtin.ITER:
        return iter(target)
    if name == Builtin.NEXT:
        return next(target)
    if name == Builtin.LEN:
        return len(target)
    if name == Builtin.BOOL:
        return bool(target)
    if name == Builtin.GETITEM:
        return target[args[0]]
    if name == Builtin.SETITEM:
        target[args[0]] = args[1]
        return None
    if name == Builtin.CONTAINS:
        return args[0] in target
    raise ValueError(f"unknown operation {name!r}")


def apply_errstate(errstate: dict[str, str] | None) -> None:
    """The caller's np.errstate, for this call (calls are serial: each sets its own)."""
    if errstate and np.geterr() != errstate:
        modes: dict[str, Any] = {k: v if v in ERRSTATE_MODES else "warn"
                                 for k, v in errstate.items()}
        np.seterr(**modes)


def flush_std_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # the submission may have replaced or closed them
            stream.flush()


def main(channel: Channel | None = None) -> None:
    """Serve the grader on `channel`: by default fds 3 and 4 (the Linux modes); the `portable`
    mode's start (portable.py) hands in its socket."""
    server = Server(channel or Channel(Pipes(REQUEST_FD, REPLY_FD)), Path.cwd(), keep_output())
    try:
        server.run()
    finally:
        flush_std_streams()
    os._exit(0)  # the submission's atexit handlers have nothing left to do
