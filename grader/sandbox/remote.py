"""The proxies a test holds when grading: `SandboxImpl`, the `impl` of a test, and
`RemoteObject`, an object that stays in the submission's worker.

`SandboxImpl` has the shape of the in-process `impl` (grader.suites.plugin.InProcessImpl):
`impl.sigmoid(z)`, `impl.Perceptron(2).fit(X, y)`, `impl.run(scenario, ...)`. Each proxy only
forwards: what a read, a call or a builtin operation sends, and what comes back, is the
business of its `WorkerClient` (client.py).

The proxy's frames set `__tracebackhide__`: a failure's traceback shows the test's line and the
submission's own frames (in the message), not the proxy's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from grader.sandbox.runtime.protocol import Builtin

if TYPE_CHECKING:
    from grader.sandbox.client import WorkerClient

# Names a proxy keeps for itself; everything else is looked up in the worker.
PROXY_SLOTS = ("_client", "_handle", "_label", "_generation", "_received", "_fixed", "_exercise",
               "_in_place")


@dataclass(frozen=True)
class InPlace:
    """The contract's leave to update a test's arrays in a later call (UPDATES_IN_PLACE), held
    by the proxies it concerns: the class (`method`, no `arrays` yet), an instance the class
    made (`method`, and the `arrays` given to its constructor), and that instance's `method`
    (`method` None: a call of it may change `arrays`)."""

    method: str | None
    arrays: tuple[np.ndarray, ...] | None = None


class RemoteObject:
    """An object that stays in the submission's process: a module, function, class, instance
    or generator. Attribute reads, calls, iteration, len, indexing and truth go there, charged
    to the exercise whose call first handed the object over."""

    __slots__ = (*PROXY_SLOTS, "__weakref__")

    def __init__(self, client: WorkerClient, handle: int, type_name: str, exercise: str) -> None:
        slots: tuple[Any, ...] = (client, handle, type_name, client.generation, 0, {}, exercise,
                                  None)
        for name, value in zip(PROXY_SLOTS, slots, strict=True):
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
        self._fixed.pop(name, None)
        self._client.setattr(self, name, value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        return self._client.call(self, args, kwargs)

    def __iter__(self) -> Any:
        __tracebackhide__ = True
        return self._client.protocol(self, Builtin.ITER)

    def __next__(self) -> Any:
        __tracebackhide__ = True
        return self._client.protocol(self, Builtin.NEXT)

    def __len__(self) -> int:
        __tracebackhide__ = True
        return self._client.protocol(self, Builtin.LEN)

    def __bool__(self) -> bool:
        __tracebackhide__ = True
        return self._client.protocol(self, Builtin.BOOL)

    def __getitem__(self, key: Any) -> Any:
        __tracebackhide__ = True
        return self._client.protocol(self, Builtin.GETITEM, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        __tracebackhide__ = True
        self._client.protocol(self, Builtin.SETITEM, key, value)

    def __contains__(self, item: Any) -> bool:
        __tracebackhide__ = True
        return self._client.protocol(self, Builtin.CONTAINS, item)

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
