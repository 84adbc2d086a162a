"""The grader's side of the sandbox: the `impl` that tests use when grading, and its worker.

`SandboxImpl` has the shape of the in-process `impl` (grader.suites.plugin.InProcessImpl):
`impl.sigmoid(z)`, `impl.Perceptron(2).fit(X, y)`, `impl.run(scenario, ...)`. Every call runs in
the submission's worker process (grader/sandbox/runtime/worker.py), started and replaced by
`WorkerClient`:

- what comes back is data (grader/sandbox/runtime/wire.py); objects that are not data
  (instances, generators, functions) stay in the worker and come back as `RemoteObject` proxies;
- functions a test passes are called back here; arrays and Generators a test passes are
  mirrored: their changes in the worker show in the test's own objects after every message; a
  request that ends with a test's array changed, where the contract allows no change, fails
  with `InputModified` and the array is put back;
- the caller's `np.errstate` applies in the worker; the submission's warnings are raised again
  here; its builtin exceptions are raised here as the same type, with its own frames;
- a call that runs past its time raises `SubmissionTimeout`, a worker that dies raises
  `SubmissionCrashed`; either way the worker is replaced and the next call gets a fresh one.

The proxy's frames set `__tracebackhide__`: a failure's traceback shows the test's line and the
submission's own frames (in the message), not the proxy's.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import inspect
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grader.kit import UPDATES_IN_PLACE, kit_root
from grader.sandbox.isolation import default_mode
from grader.sandbox.limits import MINIMAL_PATH, Limits, driver_env
from grader.sandbox.runtime.loading import ExerciseImportError
from grader.sandbox.runtime.wire import (
    Channel,
    ChannelClosed,
    Codec,
    ProtocolError,
    describe_exception,
    rebuild_exception,
    snapshot,
    wait_ready,
)
from grader.sandbox.zygote import ForkedSupervisor, ZygoteError, fork_supervisor

SUPERVISOR_BOOT = ("import sys; sys.path.insert(0, {!r}); "
                   "from grader.sandbox.isolation.supervisor import main; main(sys.argv[1])")
STOP_GRACE_S = 10.0
SIGNAL_HINTS = {
    signal.SIGSEGV: "a crash in native code",
    signal.SIGXCPU: "its CPU time limit",
    signal.SIGXFSZ: "a file or output larger than the file size limit",
    signal.SIGKILL: "killed from outside, e.g. for memory",
}
# Names a proxy keeps for itself; everything else is looked up in the worker.
PROXY_SLOTS = ("_client", "_handle", "_label", "_generation", "_received", "_fixed", "_exercise",
               "_in_place")


class SubmissionFault(BaseException):
    """The submission's process misbehaved as a whole; the test in flight fails with this.

    A BaseException, like KeyboardInterrupt, so that no `except Exception` of a test or of
    grader.suites.checks turns it into a different failure (the scorer reads its name). A fixture
    must not let one escape (pytest keeps no state for it): grader.suites.plugin turns it into a
    failure of the test's setup.
    """


class SubmissionTimeout(SubmissionFault):
    """A call ran past its time limit, or its exercise (or the whole submission) used up its
    time."""


class SubmissionCrashed(SubmissionFault):
    """The submission's process died, or broke the channel, during a call."""


class InputModified(SubmissionFault):
    """A request changed, in place, an array the test gave it, or gave an earlier call.

    The contract: no function modifies its inputs, except `SGD.step`, which updates the `params`
    its instance was constructed with (grader.kit.UPDATES_IN_PLACE), and `numerical_gradient`,
    which perturbs `x` while it calls `f` and restores it. Were the change kept, a test that
    computes its expected value from the same array afterwards (`assert_close(impl.f(z),
    ref.f(z))`, or `p.fit(X, y)` then `assert_equal(p.predict(X), y)`, where `predict` could
    overwrite the `y` that `fit` kept) would compare with whatever the submission wrote there.
    The test's arrays are restored and the test fails.
    """


class SandboxError(RuntimeError):
    """The sandbox itself could not start (the grader's problem, not the submission's)."""


class Ended(Exception):
    """The worker ended while the grader waited for it."""


class Expired(Exception):
    """The current call's deadline passed."""


@dataclass(frozen=True)
class InPlace:
    """The contract's leave to update a test's arrays in a later call (UPDATES_IN_PLACE), held
    by the proxies it concerns: the class (`method`, no `arrays` yet), an instance the class
    made (`method`, and the `arrays` given to its constructor), and that instance's `method`
    (`method` None: a call of it may change `arrays`)."""

    method: str | None
    arrays: tuple[np.ndarray, ...] | None = None


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
            return {"$": "h", "id": value._handle}
        if callable(value):
            callback_id, self.next_callback = self.next_callback, self.next_callback + 1
            self.callbacks[callback_id] = value
            return {"$": "cb", "id": callback_id}
        raise TypeError(f"a {type(value).__name__} cannot be passed to the submission's process")

    def decode_other(self, node: dict[str, Any]) -> Any:
        if node["$"] == "h":
            handle = node["id"]
            if type(handle) is not int:
                raise ProtocolError("bad handle")
            proxy = self.proxies.get(handle)
            if proxy is None:
                proxy = RemoteObject(self.client, handle, str(node.get("t", "object")),
                                     self.exercise)
                self.proxies[handle] = proxy
            object.__setattr__(proxy, "_received", proxy._received + 1)
            return proxy
        if node["$"] == "cb":
            return self.callbacks[node["id"]]
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
        self.output_path = self.private / "output"
        self.process: subprocess.Popen[bytes] | ForkedSupervisor | None = None
        self.channel: Channel | None = None
        self.pollers: dict[bool, select.poll] = {}  # for reading, for writing
        self.generation = 0
        self.used_s = 0.0  # every call's time; used_by: each exercise's share
        self.used_by: dict[str, float] = {}
        self.deadlines: list[float] = []
        self.import_failures: dict[str, BaseException] = {}
        self.modules: dict[str, RemoteObject] = {}
        self.pending_release: list[list[int]] = []
        self.callback_errors: dict[int, BaseException] = {}
        self.next_token = 0
        self.codec = GraderCodec(self)
        self.output_fd = os.open(self.output_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)

    # --- the worker's life -------------------------------------------------------------------

    def start(self) -> None:
        requests_r, requests_w = os.pipe()
        replies_r, replies_w = os.pipe()
        output = os.open(self.output_path, os.O_WRONLY | os.O_APPEND)
        spec = {
            "source": str(self.source), "kit": str(kit_root()), "python": sys.executable,
            "mode": self.mode, "limits": self.limits.to_json(), "env": driver_env(os.environ),
            "fds": {"requests": requests_r, "replies": replies_w, "output": output},
        }
        try:
            with (self.private / "supervisor.log").open("wb") as log:
                if self.zygote is not None:
                    self.process = fork_supervisor(self.zygote, spec, log.fileno())
                else:
                    self.process = subprocess.Popen(
                        [sys.executable, "-I", "-B", "-c",
                         SUPERVISOR_BOOT.format(str(kit_root())), json.dumps(spec)],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                        pass_fds=(requests_r, replies_w, output), cwd="/",
                        env={"PATH": MINIMAL_PATH, "LANG": "C.UTF-8"},
                    )
        except ZygoteError as err:
            for fd in (requests_w, replies_r):
                os.close(fd)
            raise SandboxError(f"the sandbox did not start: {err}") from None
        finally:
            for fd in (requests_r, replies_w, output):
                os.close(fd)
        status_fd = self.process.stdout.fileno()  # type: ignore[union-attr]
        self.pollers = {}
        for for_write, fd, event in ((False, replies_r, select.POLLIN),
                                     (True, requests_w, select.POLLOUT)):
            self.pollers[for_write] = poller = select.poll()
            poller.register(fd, event)
            poller.register(status_fd, select.POLLIN)
        self.channel = Channel(replies_r, requests_w, wait=self.wait,
                               max_buffer_bytes=self.limits.reply_bytes)
        self.deadlines.append(time.monotonic() + self.limits.startup_timeout_s)
        try:
            hello, _ = self.channel.recv()
            if "hello" not in hello:
                raise ProtocolError("no greeting")
        except (Ended, Expired, ChannelClosed, ProtocolError) as err:
            status = self.stop()
            why = status.get("error") or f"it ended before it was ready ({err or status})"
            log_tail = (self.private / "supervisor.log").read_text(errors="replace")[-2000:]
            raise SandboxError(f"the sandbox did not start: {why}\n{log_tail}".rstrip()) from None
        finally:
            self.deadlines.pop()

    def stop(self, ended_s: float = 0.0) -> dict[str, Any]:
        """End the worker and everything it started; how it ended (from its keeper).

        `ended_s`: how long to wait for the keeper's own report first, when the worker seems to
        have ended by itself (its channel closed before it was reaped).
        """
        process, self.process = self.process, None
        if process is None:
            return {}
        early = b""
        if ended_s and wait_ready(process.stdout.fileno(), False, ended_s):  # type: ignore[union-attr]
            early = os.read(process.stdout.fileno(), 4096)  # type: ignore[union-attr]
        if self.channel is not None:
            for fd in (self.channel.read_fd, self.channel.write_fd):
                os.close(fd)
            self.channel = None
        try:  # closing its stdin tells the keeper to kill, reap and report
            out, _ = process.communicate(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            out, _ = process.communicate()
        self.generation += 1
        self.modules.clear()
        self.pending_release.clear()
        self.callback_errors.clear()
        self.codec = GraderCodec(self)
        lines = (early + out).decode(errors="replace").splitlines()
        statuses = [json.loads(line) for line in lines if line.startswith("{")]
        return statuses[0] if statuses else {}

    def close(self) -> None:
        """Stop the worker and remove the grader's private files (again: nothing happens)."""
        self.stop()
        if self.output_fd >= 0:
            os.close(self.output_fd)
            self.output_fd = -1
        shutil.rmtree(self.private, ignore_errors=True)

    def wait(self, fd: int, for_write: bool) -> None:
        """Block until `fd` is ready; raise Expired at the deadline, Ended if the worker ended
        (its keeper wrote the status, or closed it)."""
        poller = self.pollers[for_write]
        left = self.deadlines[-1] - time.monotonic()
        if left <= 0:
            raise Expired
        ready = dict(poller.poll(left * 1000))
        if fd not in ready:
            raise Ended if ready else Expired

    def check_alive(self, proxy: RemoteObject) -> None:
        if proxy._generation != self.generation:
            raise SubmissionCrashed(
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
        if self.process is None:
            self.start()
        self.codec.exercise = exercise
        if self.pending_release:
            message["rel"], self.pending_release = self.pending_release, []
        errstate = np.geterr()
        if errstate != self.codec.errstate_sent:
            message["err"] = errstate
        codec = self.codec  # stop() replaces it: this request's changes are noted in this one
        try:
            message, buffers = codec.pack(message, values)
        except TypeError:  # the test passed something that cannot cross; nothing was sent
            codec.mirrors.invalidate()
            raise
        limit = min(self.limits.call_timeout_s, left)
        started, paused = time.monotonic(), 0.0
        self.deadlines.append(started + limit)
        noted: list[Any] = []
        changes: dict[int, tuple[np.ndarray, Any]] = {}
        codec.requests.append(changes)
        try:
            self.channel.send(message, buffers)  # type: ignore[union-attr]
            self.codec.errstate_sent = errstate
            while True:
                reply, buffers = self.channel.recv()  # type: ignore[union-attr]
                if reply.get("op") == "cb":
                    began = time.monotonic()
                    self.serve_callback(reply, buffers)
                    self.deadlines[-1] += time.monotonic() - began
                    paused += time.monotonic() - began
                    continue
                self.receive(reply, buffers)
                noted = reply.get("warn") or []
                outcome = self.outcome(reply, buffers)
                break
        except Expired:
            self.stop()
            within = (f"{limit:g} s" if limit == self.limits.call_timeout_s
                      else f"{limit:.2f} s, all the time {exercise} had left")
            raise SubmissionTimeout(
                f"{what} did not finish within {within} (an endless loop?); the submission's "
                "process was stopped"
            ) from None
        except (Ended, ChannelClosed):
            # Its keeper reports soon after the channel closes; a worker that closed the channel
            # and lives on is stopped when its time is up.
            status = self.stop(ended_s=max(0.05, self.deadlines[-1] - time.monotonic()))
            raise SubmissionCrashed(f"the submission's process {ended(status)} during {what}"
                                    ) from None
        except ProtocolError as err:
            self.stop()
            raise SubmissionCrashed(f"the submission's process broke the channel during {what} "
                                    f"({err}); it was replaced") from None
        except BaseException:
            self.stop()  # an interrupt mid-call: the channel is in an unknown state
            raise
        finally:
            self.deadlines.pop()
            codec.requests.pop()
            spent = max(0.0, time.monotonic() - started - paused)
            self.used_s += spent
            self.used_by[exercise] = self.used_by.get(exercise, 0.0) + spent
            # Whatever happened: a test's arrays stay its own.
            undone = undo_changes(changes, may_change) if changes else []
        if undone:
            raise InputModified(modified_message(what, undone, values))
        raise_warnings(noted)
        kind, value = outcome
        if kind == "exc":
            raise value
        if kind == "stop":
            raise StopIteration
        if kind == "imperr":
            raise ExerciseImportError(value)
        return value

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
        if "r" in reply:
            return "r", self.codec.decode_untrusted(reply["r"], buffers)
        if "exc" in reply:
            token = reply["exc"].get("tok")
            original = self.callback_errors.pop(token, None) if type(token) is int else None
            return "exc", original or rebuild_exception(reply["exc"])
        if "stop" in reply:
            return "stop", None
        if "imperr" in reply:
            return "imperr", str(reply["imperr"])
        raise ProtocolError("a reply with no result")

    def send(self, message: dict[str, Any], values: dict[str, Any]) -> None:
        message, buffers = self.codec.pack(message, values)
        self.channel.send(message, buffers)  # type: ignore[union-attr]

    def receive(self, message: dict[str, Any], buffers: list[bytearray]) -> None:
        """What every message of the worker's may carry: mirrored objects that changed, and
        what the worker no longer holds."""
        try:
            for node in message.get("mir", ()):
                self.codec.decode_untrusted(node, buffers)
            if "drop" in message:
                self.codec.mirrors.remove([m for m in message["drop"] if type(m) is int])
            for callback_id in message.get("cbrel", ()):
                self.codec.callbacks.pop(callback_id, None)
        except TypeError as err:
            raise ProtocolError(f"malformed message ({err})") from err

    def serve_callback(self, message: dict[str, Any], buffers: list[bytearray]) -> None:
        """Run the test's function the worker called back, and send its result back."""
        self.receive(message, buffers)
        function = self.codec.callbacks.get(message.get("id"))  # type: ignore[arg-type]
        if function is None:
            raise ProtocolError("a callback that was never passed")
        args = self.codec.decode_untrusted(message.get("a", []), buffers)
        kwargs = self.codec.decode_untrusted(message.get("k", {}), buffers)
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise ProtocolError("malformed callback arguments")
        try:
            values = {"r": function(*args, **kwargs)}
            reply: dict[str, Any] = {}
        except (SubmissionFault, KeyboardInterrupt):
            raise
        except BaseException as err:
            token = self.next_token = self.next_token + 1
            self.callback_errors[token] = err
            reply, values = {"exc": describe_exception(err) | {"tok": token}}, {}
        try:
            self.send(reply, values)
        except TypeError as err:  # the function returned something that cannot cross
            self.codec.mirrors.invalidate()
            self.send({"exc": describe_exception(err)}, {})

    # --- what proxies ask --------------------------------------------------------------------

    def module(self, exercise: str) -> RemoteObject:
        """The exercise's module in the worker (imported there on first use)."""
        __tracebackhide__ = True
        if exercise in self.import_failures:
            raise self.import_failures[exercise]
        if exercise not in self.modules:
            what = f"the import of {exercise}.py"
            try:
                module = self.request({"op": "import", "ex": exercise}, {}, what, exercise)
            except SubmissionCrashed as err:
                failure: BaseException = ExerciseImportError(str(err))
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
        reply = self.request({"op": "getattr", "h": proxy._handle, "n": name}, {}, label,
                             proxy._exercise)
        value = reply["v"]
        if isinstance(value, RemoteObject):
            object.__setattr__(value, "_label", label)
            in_place = self.in_place_attribute(proxy, name)
            if in_place is not None:
                object.__setattr__(value, "_in_place", in_place)
        return value, bool(reply["fixed"])

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
        values = {"a": list(args), "k": kwargs} if kwargs else {"a": list(args)}
        in_place = proxy._in_place  # SGD(params).step may update params
        may_change = (in_place.arrays or ()) if in_place and in_place.method is None else ()
        result = self.request({"op": "call", "h": proxy._handle}, values, f"{proxy._label}(...)",
                              proxy._exercise, may_change)
        if in_place and in_place.arrays is None and isinstance(result, RemoteObject):
            # The class: the instance it made may update, later, the arrays it was given now.
            object.__setattr__(result, "_in_place",
                               InPlace(in_place.method, tuple(arrays_in(values))))
        return result

    def protocol(self, proxy: RemoteObject, name: str, *args: Any) -> Any:
        __tracebackhide__ = True
        self.check_alive(proxy)
        return self.request({"op": "protocol", "h": proxy._handle, "fn": name},
                            {"a": list(args)}, f"{name}({proxy._label})", proxy._exercise)

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
            {"op": "run", "ex": exercise, "src": source, "fn": scenario.__name__},
            {"a": list(args), "k": kwargs}, f"the scenario {scenario.__name__}", exercise,
        )

    def release(self, handle: int, received: int, generation: int) -> None:
        if generation == self.generation:
            self.pending_release.append([handle, received])

    def take_output(self) -> str:
        """What the submission printed since the last call: its first bytes, labelled when cut."""
        size = os.fstat(self.output_fd).st_size
        if not size:
            return ""
        head = os.pread(self.output_fd, self.limits.output_bytes, 0)
        os.ftruncate(self.output_fd, 0)
        text = head.decode(errors="replace")
        if size > len(head):
            text += f"\n[... {size - len(head)} more bytes not shown]"
        return text


class RemoteObject:
    """An object that stays in the submission's process: a module, function, class, instance
    or generator. Attribute reads, calls, iteration, len, indexing and truth go there, charged
    to the exercise whose call first handed the object over."""

    __slots__ = (*PROXY_SLOTS, "__weakref__")

    def __init__(self, client: WorkerClient, handle: int, type_name: str, exercise: str) -> None:
        for name, value in zip(PROXY_SLOTS,
                               (client, handle, type_name, client.generation, 0, {}, exercise,
                                None),
                               strict=True):
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        __tracebackhide__ = True
        if name in PROXY_SLOTS or (name.startswith("__") and name.endswith("__")):
            raise AttributeError(name)
        if name in self._fixed:
            return self._fixed[name]
        value, fixed = self._client.getattr(self, name)
        if fixed:
            self._fixed[name] = value
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        __tracebackhide__ = True
        self._client.check_alive(self)
        self._fixed.pop(name, None)
        self._client.request({"op": "setattr", "h": self._handle, "n": name}, {"v": value},
                             f"setting {self._label}.{name}", self._exercise)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        return self._client.call(self, args, kwargs)

    def __iter__(self) -> Any:
        __tracebackhide__ = True
        return self._client.protocol(self, "iter")

    def __next__(self) -> Any:
        __tracebackhide__ = True
        return self._client.protocol(self, "next")

    def __len__(self) -> int:
        __tracebackhide__ = True
        return self._client.protocol(self, "len")

    def __bool__(self) -> bool:
        __tracebackhide__ = True
        return self._client.protocol(self, "bool")

    def __getitem__(self, key: Any) -> Any:
        __tracebackhide__ = True
        return self._client.protocol(self, "getitem", key)

    def __setitem__(self, key: Any, value: Any) -> None:
        __tracebackhide__ = True
        self._client.protocol(self, "setitem", key, value)

    def __contains__(self, item: Any) -> bool:
        __tracebackhide__ = True
        return self._client.protocol(self, "contains", item)

    def __repr__(self) -> str:
        return f"<{self._label} in the submission's process>"

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self._client.release(self._handle, self._received, self._generation)


class SandboxImpl:
    """The `impl` of a test when grading: the exercise's module, in the submission's worker."""

    def __init__(self, client: WorkerClient, exercise: str) -> None:
        self._client, self._exercise = client, exercise
        client.module(exercise)  # an import failure fails the test now, at its setup

    def __getattr__(self, name: str) -> Any:
        __tracebackhide__ = True
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return getattr(self._client.module(self._exercise), name)

    def __repr__(self) -> str:
        return f"<{self._exercise} in the submission's process>"

    def run(self, scenario: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`scenario(module, *args, **kwargs)`, run in the worker; its result comes back as data."""
        __tracebackhide__ = True
        return self._client.run_scenario(self._exercise, scenario, args, kwargs)


def undo_changes(changes: dict[int, tuple[np.ndarray, Any]],
                 may_change: tuple[np.ndarray, ...]) -> list[np.ndarray]:
    """Put back what each array of `changes` held before the request, unless it ends the same
    or is one of `may_change` (whose new contents are then the test's); the arrays put back."""
    undone = []
    for array, before in changes.values():
        if any(array is allowed for allowed in may_change):
            continue
        if snapshot(array) != before and array.flags.writeable:
            dtype, shape, data = before
            np.copyto(array, np.frombuffer(data, dtype=dtype).reshape(shape))
            undone.append(array)
    return undone


def modified_message(what: str, undone: list[np.ndarray], values: dict[str, Any]) -> str:
    """The one line of an InputModified: an argument of this call, or an array kept from an
    earlier one (a delayed overwrite)."""
    given = arrays_in(values)
    if any(array is argument for array in undone for argument in given):
        return (f"{what} changed an array it was given, in place: no function of the contract "
                "modifies its inputs (compute into a new array)")
    return (f"{what} changed an array that the test had handed over in an earlier call: no "
            "function of the contract modifies its inputs later either (only SGD.step updates "
            "its params)")


def arrays_in(value: Any) -> list[np.ndarray]:
    """The plain ndarrays in `value` and in its lists, tuples and dicts (already encoded once:
    no cycle, bounded depth)."""
    found, todo = [], [value]
    while todo:  # a loop rather than a call per item: this runs for every call
        item = todo.pop()
        if type(item) is np.ndarray:
            found.append(item)
        elif isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, (list, tuple)):
            todo.extend(item)
    return found


def defines_function(source: str, name: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return any(isinstance(node, ast.FunctionDef) and node.name == name for node in tree.body)


def ended(status: dict[str, Any]) -> str:
    """'died (exit code 3)', 'was killed by SIGSEGV (a crash in native code)', ..."""
    if "signal" in status:
        number = status["signal"]
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        hint = SIGNAL_HINTS.get(number)
        return f"was killed by {name}" + (f" ({hint})" if hint else "")
    if "exit" in status:
        return f"died (exit code {status['exit']})"
    if "error" in status:
        return f"ended: {status['error']}"
    return "ended"


def raise_warnings(noted: list[Any]) -> None:
    """The submission's warnings, raised again in the test (its filters decide what they do)."""
    for mro, message in noted:
        category = next((c for c in map(builtin_warning, mro) if c is not None), UserWarning)
        warnings.warn(str(message), category, stacklevel=4)


def builtin_warning(name: Any) -> type[Warning] | None:
    found = getattr(builtins, name, None) if isinstance(name, str) else None
    return found if isinstance(found, type) and issubclass(found, Warning) else None

