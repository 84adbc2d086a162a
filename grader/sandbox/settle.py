"""How a request that got its reply ends for the test (client.py's last step): the test's
arrays put back where the worker changed them without the contract's leave (InputModified), the
submission's warnings raised again, then its result returned or its exception raised.
"""

from __future__ import annotations

import builtins
import warnings
from typing import Any

import numpy as np

from grader.sandbox.errors import InputModified
from grader.sandbox.runtime.loading import ExerciseImportError
from grader.sandbox.runtime.protocol import Key
from grader.sandbox.runtime.wire import snapshot


def settle(outcome: tuple[str, Any], noted: list[Any], undone: list[np.ndarray], what: str,
           values: dict[str, Any]) -> Any:
    """The end of a request that got its reply: InputModified if the test's arrays had to be
    put back, else the submission's warnings raised again, then its outcome: the result
    returned, or the exception, StopIteration or ExerciseImportError raised."""
    __tracebackhide__ = True
    if undone:
        raise InputModified(modified_message(what, undone, values))
    raise_warnings(noted)
    key, value = outcome
    if key == Key.EXCEPTION:
        raise value
    if key == Key.STOP:
        raise StopIteration
    if key == Key.IMPORT_ERROR:
        raise ExerciseImportError(value)
    return value


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


def raise_warnings(noted: list[Any]) -> None:
    """The submission's warnings, raised again in the test (its filters decide what they do)."""
    for mro, message in noted:
        category = next((c for c in map(builtin_warning, mro) if c is not None), UserWarning)
        warnings.warn(str(message), category, stacklevel=5)


def builtin_warning(name: Any) -> type[Warning] | None:
    found = getattr(builtins, name, None) if isinstance(name, str) else None
    return found if isinstance(found, type) and issubclass(found, Warning) else None
