"""The grader's side of the sandbox: `WorkerClient`, which starts the submission's worker,
turns what the proxies (remote.py) ask into requests, and judges what comes back.

Every call runs in the submission's worker process (grader/sandbox/runtime/worker.py), started
and replaced here; the messages are those of grader/sandbox/runtime/protocol.py:

- what comes back is data (grader/sandbox/runtime/wire.py); objects that are not data
  (instances, generators, functions) stay in the worker and come back as `RemoteObject` proxies;
- functions a test passes are called back here; arrays and Generators a test passes are
  mirrored: their changes in the worker show in the test's own objects after every message; a
  request that ends with a test's array changed, where the contract allows no change, fails
  with `InputModified` and the array is put back;
- the caller's `np.errstate` applies in the worker; the submission's warnings are raised again
  here; its builtin exceptions are raised here as the same type, with its own frames;
- a call that runs past its time raises `SubmissionTimeout`, a worker that dies raises
  `SubmissionCrashed` (errors.py); either way the worker is replaced and the next call gets a
  fresh one.
"""

from __future__ import annotations

import ast
import inspect
import os
import shutil
import sys
import tempfile
import textwrap
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from grader.kit import UPDATES_IN_PLACE
from grader.sandbox.errors import (
    ImportCrashed,
    ObjectLost,
    SubmissionCrashed,
    SubmissionFault,
    SubmissionTimeout,
)
from grader.sandbox.isolation import default_mode
from grader.sandbox.limits import Limits
from grader.sandbox.process import Ended, Expired, PortableWorkerProcess, WorkerProcess, ended
from grader.sandbox.remote import InPlace, RemoteObject
from grader.sandbox.runtime.channel import ChannelClosed, ProtocolError
from grader.sandbox.runtime.loading import ExerciseImportError
from grader.sandbox.runtime.protocol import Attribute, Exc, Key, Node, Op
from grader.sandbox.runtime.wire import Codec, describe_exception, rebuild_exception, snapshot
from grader.sandbox.settle import arrays_in, settle, undo_changes


@dataclass
class InFlight:
    """A request between its sending and its reply."""

    what: str  # for messages: "activations.sigmoid(...)", "the import of losses.py"
    exercise: str  # whose time it is charged to
    limit_s: float
    started: float
    paused_s: float = 0.0  # in the test's callbacks: not the submission's time
    # The test's arrays the worker changed during it, with what each held before.
    changes: dict[int, tuple[np.ndarray, Any]] = field(default_factory=dict)


class GraderCodec(Codec):
    """Arrays and Generators the tests pass are mirrored; functions become callbacks; proxies
    go back as their handles."""

    def __init__(self, client: WorkerClient) -> None:
        super().__init__()
        self.client = client
        self.next_mirror = 1
        self.callbacks: dict[int, Callable[..., Any]] = {}
        self.next_callback = 1
        self.proxies: weakref.WeakValueDictionary[int, RemoteObject] = weakref.WeakValueDictionary()
        # The exercise of the request in flight: an object first seen in its reply belongs to it.
        self.exercise = ""
        # The np.errstate the worker last received (the worker keeps it until the next one).
        self.errstate_sent: dict[str, str] | None = None
        # Whether this worker was told how much of a test's output the grader keeps.
        self.output_kept_sent = False
        # For each request in flight (a callback may make requests of its own: the innermost
        # last), the test's arrays the worker changed during it, with what each held before.
        self.requests: list[dict[int, tuple[np.ndarray, Any]]] = []

    def mirror_id(self, obj: Any, seen: Any) -> int | None:
        mid = self.mirrors.find(obj)
        if mid is None:
            mid, self.next_mirror = self.next_mirror, self.next_mirror + 1
            self.mirrors.add(mid, obj, seen)
        return mid

    def encode_other(self, value: Any) -> dict[str, Any]:
        if isinstance(value, RemoteObject):
            self.client.check_alive(value)
            return {Node.TAG: Node.HANDLE, Node.ID: value._handle}
        if callable(value):
            callback_id, self.next_callback = self.next_callback, self.next_callback + 1
            self.callbacks[callback_id] = value
            return {Node.TAG: Node.CALLBACK, Node.ID: callback_id}
        raise TypeError(f"a {type(value).__name__} cannot be passed to the submission's process")

    def decode_other(self, node: dict[str, Any]) -> Any:
        tag = node[Node.TAG]
        if tag == Node.HANDLE:
            handle = node[Node.ID]
            if type(handle) is not int:
                raise ProtocolError("bad handle")
            proxy = self.proxies.get(handle)
            if proxy is None:
                proxy = RemoteObject(self.client, handle, str(node.get(Node.TYPE, "object")),
                                     self.exercise)
                self.proxies[handle] = proxy
            object.__setattr__(proxy, "_received", proxy._received + 1)
            return proxy
        if tag == Node.CALLBACK:
            return self.callbacks[node[Node.ID]]
        return super().decode_other(node)

    def resolve_mirror(self, node: dict[str, Any], fresh: Any) -> Any:
        mid = node.get("m")
        if self.requests and type(mid) is int:
            changes = self.requests[-1]
            local = self.mirrors.objects.get(mid)
            if type(local) is np.ndarray and mid not in changes:
                # What the worker last saw is what the array holds now (every message syncs
                # both sides); no copy is made unless that record was forgotten (`invalidate`).
                changes[mid] = (local, self.mirrors.snapshots.get(mid) or snapshot(local))
        return super().resolve_mirror(node, fresh)

    def decode_untrusted(self, node: Any, buffers: list[bytearray]) -> Any:
        """Decode what the worker sent: anything malformed is the worker's fault."""
        try:
            return self.decode(node, buffers)
        except ProtocolError:
            raise
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, RecursionError) as err:
            raise ProtocolError(f"malformed reply ({type(err).__name__}: {err})") from err


class WorkerClient:
    """One submission's worker: started on first use, replaced after a timeout or a death.

    `source` is the folder of staged exercise files; the worker gets a private copy of them.
    """

    def __init__(self, source: Path, limits: Limits | None = None, mode: str | None = None,
                 zygote: Path | None = None) -> None:
        self.source = Path(source).resolve()
        self.limits = limits or Limits()
        self.mode = mode or default_mode()
        self.zygote = zygote  # the socket of a zygote (sandbox/zygote.py) to fork workers from
        self.private = Path(tempfile.mkdtemp(prefix="kit-grader-"))
        weakref.finalize(self, shutil.rmtree, self.private, True)  # if close() is never called
        output_path = self.private / "output"
        self.worker = (
            PortableWorkerProcess(self.source, self.limits, self.private, output_path)
            if self.mode == "portable"  # its own worker on every OS: a zygote is Linux's
            else WorkerProcess(self.source, self.limits, self.mode, zygote, self.private,
                               output_path))
        self.generation = 0
        self.used_s = 0.0  # every call's time; used_by: each exercise's share
        self.used_by: dict[str, float] = {}
        self.import_failures: dict[str, BaseException] = {}
        self.modules: dict[str, RemoteObject] = {}
        self.pending_release: list[list[int]] = []
        self.callback_errors: dict[int, BaseException] = {}
        self.next_token = 0
        self.codec = GraderCodec(self)
        self.output_fd = os.open(output_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC
                                 | getattr(os, "O_BINARY", 0), 0o600)  # Windows: bytes as written
        self.output_seen = 0  # where the next excerpt starts (Windows: see take_output)
        self.output_dropped = 0  # bytes the worker dropped since the last take_output

    # --- the worker's life -------------------------------------------------------------------

    def stop(self, ended_s: float = 0.0) -> dict[str, Any]:
        """End the worker and everything it started; how it ended (from its keeper). What lived
        in it (modules, proxies, callbacks) is forgotten: the next call gets a fresh one.

        `ended_s`: how long to wait for the keeper's own report first, when the worker seems to
        have ended by itself (its channel closed before it was reaped).
        """
        status = self.worker.stop(ended_s)
        if status is None:
            return {}
        self.generation += 1
        self.modules.clear()
        self.pending_release.clear()
        self.callback_errors.clear()
        self.codec = GraderCodec(self)
        return status

    def close(self) -> None:
        """Stop the worker and remove the grader's private files (again: nothing happens)."""
        self.stop()
        if self.output_fd >= 0:
            os.close(self.output_fd)
            self.output_fd = -1
        shutil.rmtree(self.private, ignore_errors=True)

    def check_alive(self, proxy: RemoteObject) -> None:
        if proxy._generation != self.generation:
            raise ObjectLost(
                f"{proxy._label} lived in the submission's previous process, which was replaced "
                "after a crash or a timeout"
            )

    # --- requests ----------------------------------------------------------------------------

    def request(self, message: dict[str, Any], values: dict[str, Any], what: str,
                exercise: str, may_change: tuple[np.ndarray, ...] = ()) -> Any:
        """Send one request and serve callbacks until its reply; the reply's result. Its time is
        charged to `exercise`.

        Whatever happens, the test's arrays that it changed end as they began, except those of
        `may_change` (the contract's in-place updates); an array may differ in between, while
        the test's callbacks run (`numerical_gradient` perturbs x).

        Raises the submission's exception (rebuilt), StopIteration at the end of an iterator,
        ExerciseImportError, InputModified, SubmissionTimeout or SubmissionCrashed.
        """
        __tracebackhide__ = True
        left = self.time_left(exercise, what)
        if self.worker.process is None:
            self.worker.start()
        codec = self.codec  # stop() replaces it: this request's changes are noted in this one
        message, buffers, errstate = self.pack_request(codec, message, values, exercise)
        flight = InFlight(what, exercise, min(self.limits.call_timeout_s, left), time.monotonic())
        self.worker.deadlines.append(flight.started + flight.limit_s)
        codec.requests.append(flight.changes)
        try:
            reply, reply_buffers = self.exchange(message, buffers, errstate, flight)
            outcome = self.outcome(reply, reply_buffers)
        except BaseException as err:
            failure = self.failure(err, flight)
            if failure is err:
                raise
            raise failure from None
        finally:
            self.worker.deadlines.pop()
            codec.requests.pop()
            self.charge(flight)
            # Whatever happened: a test's arrays stay its own.
            undone = undo_changes(flight.changes, may_change) if flight.changes else []
        return settle(outcome, reply.get(Key.WARNINGS) or [], undone, what, values)

    def pack_request(self, codec: GraderCodec, message: dict[str, Any], values: dict[str, Any],
                     exercise: str) -> tuple[dict[str, Any], list[bytes], dict[str, str]]:
        """The request's header and buffers, with the handles the test let go of and the
        caller's np.errstate when it changed (also returned: it is sent only if all goes well)."""
        codec.exercise = exercise
        if self.pending_release:
            message[Key.RELEASE], self.pending_release = self.pending_release, []
        # A plain dict of four modes; NumPy types it as a TypedDict of its own.
        errstate = cast("dict[str, str]", np.geterr())
        if errstate != codec.errstate_sent:
            message[Key.ERRSTATE] = errstate
        if not codec.output_kept_sent:
            message[Key.OUTPUT_KEPT] = self.limits.output_bytes
            codec.output_kept_sent = True
        try:
            message, buffers = codec.pack(message, values)
        except TypeError:  # the test passed something that cannot cross; nothing was sent
            codec.mirrors.invalidate()
            raise
        return message, buffers, errstate

    def exchange(self, message: dict[str, Any], buffers: list[bytes], errstate: dict[str, str],
                 flight: InFlight) -> tuple[dict[str, Any], list[bytearray]]:
        """Send the request and serve the worker's callbacks until its reply; the reply.

        A callback's time is the test's: it moves the request's deadline and is not charged.
        """
        self.worker.channel.send(message, buffers)  # type: ignore[union-attr]
        self.codec.errstate_sent = errstate
        while True:
            reply, received = self.worker.channel.recv()  # type: ignore[union-attr]
            if reply.get(Key.OP) != Op.CALLBACK:
                self.receive(reply, received)
                return reply, received
            began = time.monotonic()
            self.serve_callback(reply, received)
            spent = time.monotonic() - began
            self.worker.deadlines[-1] += spent
            flight.paused_s += spent

    def failure(self, err: BaseException, flight: InFlight) -> BaseException:
        """What a request that broke off with `err` raises. The worker is stopped whatever the
        cause: its channel is in an unknown state."""
        if isinstance(err, Expired):
            self.stop()
            limit = flight.limit_s
            within = (f"{limit:g} s" if limit == self.limits.call_timeout_s
                      else f"{limit:.2f} s, all the time {flight.exercise} had left")
            return SubmissionTimeout(
                f"{flight.what} did not finish within {within} (an endless loop?); the "
                "submission's process was stopped"
            )
        if isinstance(err, (Ended, ChannelClosed)):
            # Its keeper reports soon after the channel closes; a worker that closed the channel
            # and lives on is stopped when its time is up.
            status = self.stop(ended_s=max(0.05, self.worker.deadlines[-1] - time.monotonic()))
            return SubmissionCrashed(f"the submission's process {ended(status)} during "
                                     f"{flight.what}")
        self.stop()  # also for an interrupt mid-call
        if isinstance(err, ProtocolError):
            return SubmissionCrashed(f"the submission's process broke the channel during "
                                     f"{flight.what} ({err}); it was replaced")
        return err

    def charge(self, flight: InFlight) -> None:
        spent = max(0.0, time.monotonic() - flight.started - flight.paused_s)
        self.used_s += spent
        self.used_by[flight.exercise] = self.used_by.get(flight.exercise, 0.0) + spent

    def time_left(self, exercise: str, what: str) -> float:
        """What is left of the time of `exercise` and of the submission's (the lesser);
        SubmissionTimeout when either is used up.

        Each exercise has its own time so that one that hangs in every call costs only its own
        tests; the submission's total is a backstop, by default the sum of six exercises' time.
        """
        limits = self.limits
        exercise_left = limits.exercise_timeout_s - self.used_by.get(exercise, 0.0)
        total_left = limits.total_timeout_s - self.used_s
        if exercise_left <= 0:
            raise SubmissionTimeout(f"the submission's {exercise} used up its time "
                                    f"({limits.exercise_timeout_s:g} s) before {what}")
        if total_left <= 0:
            raise SubmissionTimeout(f"the submission used up its total time "
                                    f"({limits.total_timeout_s:g} s, all exercises) before {what}")
        return min(exercise_left, total_left)

    def outcome(self, reply: dict[str, Any], buffers: list[bytearray]) -> tuple[str, Any]:
        """(the reply's outcome key, its value): the result decoded, the exception rebuilt (or
        the test's own, come back from a callback), the import error's line."""
        if Key.RESULT in reply:
            return Key.RESULT, self.codec.decode_untrusted(reply[Key.RESULT], buffers)
        if Key.EXCEPTION in reply:
            token = reply[Key.EXCEPTION].get(Exc.TOKEN)
            original = self.callback_errors.pop(token, None) if type(token) is int else None
            return Key.EXCEPTION, original or rebuild_exception(reply[Key.EXCEPTION])
        if Key.STOP in reply:
            return Key.STOP, None
        if Key.IMPORT_ERROR in reply:
            return Key.IMPORT_ERROR, str(reply[Key.IMPORT_ERROR])
        raise ProtocolError("a reply with no result")

    def send(self, message: dict[str, Any], values: dict[str, Any]) -> None:
        message, buffers = self.codec.pack(message, values)
        self.worker.channel.send(message, buffers)  # type: ignore[union-attr]

    def receive(self, message: dict[str, Any], buffers: list[bytearray]) -> None:
        """What every message of the worker's may carry: mirrored objects that changed, and
        what the worker no longer holds."""
        try:
            for node in message.get(Key.MIRRORS, ()):
                self.codec.decode_untrusted(node, buffers)
            if Key.DROP in message:
                self.codec.mirrors.remove([m for m in message[Key.DROP] if type(m) is int])
            for callback_id in message.get(Key.CALLBACKS_RELEASED, ()):
                self.codec.callbacks.pop(callback_id, None)
            dropped = message.get(Key.OUTPUT_DROPPED, 0)
            if type(dropped) is int and dropped > 0:
                self.output_dropped += dropped
        except TypeError as err:
            raise ProtocolError(f"malformed message ({err})") from err

    def serve_callback(self, message: dict[str, Any], buffers: list[bytearray]) -> None:
        """Run the test's function the worker called back, and send its result back."""
        self.receive(message, buffers)
        function = self.codec.callbacks.get(message.get(Key.CALLBACK_ID))  # type: ignore[arg-type]
        if function is None:
            raise ProtocolError("a callback that was never passed")
        args = self.codec.decode_untrusted(message.get(Key.ARGS, []), buffers)
        kwargs = self.codec.decode_untrusted(message.get(Key.KWARGS, {}), buffers)
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise ProtocolError("malformed callback arguments")
        try:
            values = {Key.RESULT: function(*args, **kwargs)}
            reply: dict[str, Any] = {}
        except (SubmissionFault, KeyboardInterrupt):
            raise
        except BaseException as err:
            token = self.next_token = self.next_token + 1
            self.callback_errors[token] = err
            reply, values = {Key.EXCEPTION: describe_exception(err) | {Exc.TOKEN: token}}, {}
        try:
            self.send(reply, values)
        except TypeError as err:  # the function returned something that cannot cross
            self.codec.mirrors.invalidate()
            self.send({Key.EXCEPTION: describe_exception(err)}, {})

    # --- what proxies ask --------------------------------------------------------------------

    def module(self, exercise: str) -> RemoteObject:
        """The exercise's module in the worker (imported there on first use)."""
        __tracebackhide__ = True
        if exercise in self.import_failures:
            raise self.import_failures[exercise]
        if exercise not in self.modules:
            what = f"the import of {exercise}.py"
            try:
                module = self.request({Key.OP: Op.IMPORT, Key.EXERCISE: exercise}, {}, what,
                                      exercise)
            except SubmissionCrashed as err:
                failure: BaseException = ImportCrashed(str(err))
            except (ExerciseImportError, SubmissionTimeout) as err:
                failure = err
            else:
                object.__setattr__(module, "_label", exercise)
                self.modules[exercise] = module
                return module
            self.import_failures[exercise] = failure
            raise failure
        return self.modules[exercise]

    def getattr(self, proxy: RemoteObject, name: str) -> tuple[Any, bool]:
        __tracebackhide__ = True
        self.check_alive(proxy)
        label = f"{proxy._label}.{name}"  # activations.sigmoid, Perceptron.fit
        reply = self.request({Key.OP: Op.GETATTR, Key.HANDLE: proxy._handle, Key.NAME: name}, {},
                             label, proxy._exercise)
        value = reply[Attribute.VALUE]
        if isinstance(value, RemoteObject):
            object.__setattr__(value, "_label", label)
            in_place = self.in_place_attribute(proxy, name)
            if in_place is not None:
                object.__setattr__(value, "_in_place", in_place)
        return value, bool(reply[Attribute.FIXED])

    def in_place_attribute(self, proxy: RemoteObject, name: str) -> InPlace | None:
        """What the contract lets `proxy.name` update in place: a class of UPDATES_IN_PLACE read
        from its exercise's module, or that class's `method` read from an instance it made.

        Decided from what the test asked for (the exercise, the names it read), never from what
        the worker says an object is.
        """
        if proxy is self.modules.get(proxy._exercise):
            for exercise, class_name, method in UPDATES_IN_PLACE:
                if (exercise, class_name) == (proxy._exercise, name):
                    return InPlace(method)
            return None
        in_place = proxy._in_place
        if in_place is not None and in_place.arrays is not None and in_place.method == name:
            return InPlace(None, in_place.arrays)
        return None

    def call(self, proxy: RemoteObject, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        __tracebackhide__ = True
        self.check_alive(proxy)
        values = {Key.ARGS: list(args), Key.KWARGS: kwargs} if kwargs else {Key.ARGS: list(args)}
        in_place = proxy._in_place  # SGD(params).step may update params
        may_change = (in_place.arrays or ()) if in_place and in_place.method is None else ()
        result = self.request({Key.OP: Op.CALL, Key.HANDLE: proxy._handle}, values,
                              f"{proxy._label}(...)", proxy._exercise, may_change)
        if in_place and in_place.arrays is None and isinstance(result, RemoteObject):
            # The class: the instance it made may update, later, the arrays it was given now.
            object.__setattr__(result, "_in_place",
                               InPlace(in_place.method, tuple(arrays_in(values))))
        return result

    def setattr(self, proxy: RemoteObject, name: str, value: Any) -> None:
        __tracebackhide__ = True
        self.check_alive(proxy)
        self.request({Key.OP: Op.SETATTR, Key.HANDLE: proxy._handle, Key.NAME: name},
                     {Key.VALUE: value}, f"setting {proxy._label}.{name}", proxy._exercise)

    def protocol(self, proxy: RemoteObject, name: str, *args: Any) -> Any:
        __tracebackhide__ = True
        self.check_alive(proxy)
        return self.request({Key.OP: Op.PROTOCOL, Key.HANDLE: proxy._handle, Key.FUNCTION: name},
                            {Key.ARGS: list(args)}, f"{name}({proxy._label})", proxy._exercise)

    def run_scenario(self, exercise: str, scenario: Callable[..., Any],
                     args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        __tracebackhide__ = True
        if not inspect.isfunction(scenario) or scenario.__qualname__ != scenario.__name__ or (
            scenario.__closure__
        ):
            raise TypeError("impl.run takes a top-level function of the test file (its source "
                            "is run next to the implementation)")
        self.module(exercise)
        source = textwrap.dedent(inspect.getsource(scenario))
        if not defines_function(source, scenario.__name__):
            raise TypeError(f"the source of {scenario.__name__} (inspect.getsource) does not "
                            "define it: was its file edited during the run?")
        return self.request(
            {Key.OP: Op.RUN, Key.EXERCISE: exercise, Key.SOURCE: source,
             Key.FUNCTION: scenario.__name__},
            {Key.ARGS: list(args), Key.KWARGS: kwargs}, f"the scenario {scenario.__name__}",
            exercise,
        )

    def release(self, handle: int, received: int, generation: int) -> None:
        if generation == self.generation:
            self.pending_release.append([handle, received])

    def take_output(self) -> str:
        """What the submission printed since the last call: its first bytes, led by a line
        saying how much it printed in all when that is more."""
        size = os.fstat(self.output_fd).st_size - self.output_seen
        dropped, self.output_dropped = self.output_dropped, 0
        if size <= 0:
            return ""
        os.lseek(self.output_fd, self.output_seen, os.SEEK_SET)  # no os.pread on Windows
        head = os.read(self.output_fd, min(size, self.limits.output_bytes))
        if sys.platform == "win32":
            # The worker's handle there has no append mode: a file cut to nothing would be
            # written on at the old offset, after a gap. It only grows; excerpts follow it.
            self.output_seen += size
        else:
            os.ftruncate(self.output_fd, 0)
        text = head.decode(errors="replace")
        printed = size + dropped
        if printed > len(head):  # said first: whatever cuts the text later keeps this line
            text = f"[printed {printed} bytes; the first {len(head)} are kept]\n" + text
        return text


def defines_function(source: str, name: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return any(isinstance(node, ast.FunctionDef) and node.name == name for node in tree.body)
