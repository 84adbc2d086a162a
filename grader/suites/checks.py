"""Assertions for the exercise suites whose failures teach.

Each failure is one line: what was checked, what came back, what was expected, and (when the
test knows it) the likely cause. The grader shows that line to the student.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np

from grader.kit import EXERCISES

Hint = str | Callable[[np.ndarray, np.ndarray], str | None] | None

# Default tolerances by dtype: loose enough for any correct formula, tight enough to catch a
# factor, a sign or a missing term.
TOLERANCES = {
    np.dtype(np.float16): (1e-2, 1e-3),
    np.dtype(np.float32): (1e-4, 1e-6),
    np.dtype(np.float64): (1e-7, 1e-10),
}


def fail(message: str) -> None:
    """Fail the current test with a one-line message."""
    __tracebackhide__ = True
    raise AssertionError(message)


def _hint_text(hint: Hint, actual: np.ndarray, expected: np.ndarray) -> str:
    text = hint(actual, expected) if callable(hint) else hint
    return f"; {text}" if text else ""


def _short(value: Any) -> str:
    text = np.array2string(np.asarray(value), precision=6, threshold=6, edgeitems=2)
    return " ".join(text.split())


def assert_array(actual: Any, what: str) -> np.ndarray:
    """`actual` must be a plain NumPy array; returns it."""
    __tracebackhide__ = True
    if not isinstance(actual, np.ndarray):
        fail(f"{what} returned {type(actual).__name__}, expected a NumPy array")
    return actual


def assert_dtype(actual: np.ndarray, dtype: Any, what: str) -> None:
    __tracebackhide__ = True
    if np.asarray(actual).dtype != np.dtype(dtype):
        fail(
            f"{what} returned dtype {np.asarray(actual).dtype}, expected {np.dtype(dtype)}: "
            "float results keep the input's float dtype"
        )


def assert_close(
    actual: Any,
    expected: Any,
    what: str,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    hint: Hint = None,
) -> None:
    """Compare a returned array or number with the expected one, shape first, then values.

    Tolerances default to those of the expected value's dtype (float64 for Python floats).
    `hint` is a likely cause, or a function of (actual, expected) returning one or None.
    """
    __tracebackhide__ = True
    expected_arr = np.asarray(expected)
    if isinstance(expected, np.ndarray):
        actual_arr = assert_array(actual, what)
    else:
        try:
            actual_arr = np.asarray(actual, dtype=np.float64)
        except (TypeError, ValueError):
            fail(f"{what} returned {type(actual).__name__}, expected a number")
    if actual_arr.shape != expected_arr.shape:
        fail(
            f"{what} has shape {actual_arr.shape}, expected {expected_arr.shape}"
            + _hint_text(hint, actual_arr, expected_arr)
        )
    if actual_arr.dtype.kind not in "fiub":
        fail(f"{what} has dtype {actual_arr.dtype}, expected numbers")
    got = actual_arr.astype(np.float64)
    want = expected_arr.astype(np.float64)
    # Integers, and floats of other widths (longdouble), are compared as float64.
    dtype = expected_arr.dtype if expected_arr.dtype in TOLERANCES else np.dtype(np.float64)
    default_rtol, default_atol = TOLERANCES[dtype]
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    bad_nonfinite = ~np.isfinite(got) & np.isfinite(want)
    if bad_nonfinite.any():
        index = tuple(int(i) for i in np.argwhere(bad_nonfinite)[0])
        fail(
            f"{what} contains {got[index]} at index {index} where {want[index]:.6g} was expected"
            + _hint_text(hint, actual_arr, expected_arr)
        )
    wrong = ~np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    if wrong.any():
        index = tuple(int(i) for i in np.argwhere(wrong)[0])
        at = f" at index {index}" if index else ""
        fail(
            f"{what} is wrong in {int(wrong.sum())} of {wrong.size} values: "
            f"got {got[index]:.6g}{at}, expected {want[index]:.6g}"
            + _hint_text(hint, actual_arr, expected_arr)
        )


def assert_equal(actual: Any, expected: Any, what: str, *, hint: str | None = None) -> None:
    """Exact equality, for integers, labels, lists and trajectories fixed by the contract."""
    __tracebackhide__ = True
    if isinstance(expected, np.ndarray):
        actual_arr = assert_array(actual, what)
        if actual_arr.shape != expected.shape or not np.array_equal(actual_arr, expected):
            fail(
                f"{what} returned {_short(actual_arr)}, expected {_short(expected)}"
                + (f"; {hint}" if hint else "")
            )
    elif actual != expected:
        fail(f"{what} returned {actual!r}, expected {expected!r}" + (f"; {hint}" if hint else ""))


def assert_python_float(value: Any, what: str) -> None:
    """A loss is a Python float: `isinstance(value, float)` (np.float64 passes, being a
    subclass of float; np.float32 and 0-d arrays do not)."""
    __tracebackhide__ = True
    if not isinstance(value, float):
        fail(f"{what} returned {type(value).__name__}, expected a Python float: "
             "wrap the result in float(...)")


@contextmanager
def expect_value_error(what: str, why: str = "", mentions: tuple[str, ...] = ()) -> Iterator[None]:
    """The block must raise ValueError (the contract's answer to bad input).

    With `mentions`, the message must also contain one of those words (any case): the contract
    wants a message that names the problem, e.g. "shape" for mismatched shapes.
    A stub's NotImplementedError passes through unchanged, so a stub fails with its own message.
    """
    __tracebackhide__ = True
    try:
        yield
    except ValueError as err:
        message = str(err).lower()
        if mentions and not any(word.lower() in message for word in mentions):
            fail(f"{what} raised ValueError({str(err)!r}), whose message does not name the "
                 f"problem; say what is wrong (mention {' or '.join(map(repr, mentions))})")
        return
    except NotImplementedError:
        raise
    except Exception as err:
        fail(f"{what} raised {type(err).__name__}: {err}; expected a ValueError naming the problem")
    fail(f"{what} returned normally; expected a ValueError" + (f" ({why})" if why else ""))


def expect_runtime_error(call: Callable[[], Any], what: str, why: str) -> None:
    """`call()` must raise RuntimeError (NotImplementedError, its subclass, is not enough)."""
    __tracebackhide__ = True
    try:
        call()
    except NotImplementedError:
        raise
    except RuntimeError:
        return
    except Exception as err:
        fail(f"{what} raised {type(err).__name__}: {err}; expected a RuntimeError ({why})")
    fail(f"{what} returned normally; expected a RuntimeError ({why})")


@contextmanager
def strict_floats(what: str, hint: str = "") -> Iterator[None]:
    """Run the block with NumPy's float warnings raised as errors, reported as one line."""
    __tracebackhide__ = True
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            yield
    except FloatingPointError as err:
        fail(f"{what} raised FloatingPointError ({err})" + (f"; {hint}" if hint else ""))


def factor_hint(causes: dict[float, str]) -> Callable[[np.ndarray, np.ndarray], str | None]:
    """A hint for a result that is the expected one times a telling constant.

    `causes` maps a factor (2, -1, N, 1/N...) to the mistake it betrays; the hint names the cause
    when `actual` is (to tolerance) that multiple of `expected`, and says nothing otherwise.
    """

    def hint(actual: np.ndarray, expected: np.ndarray) -> str | None:
        a, e = actual.astype(float).ravel(), expected.astype(float).ravel()
        if a.shape != e.shape or not np.any(e):
            return None
        k = a @ e / (e @ e)
        if not np.allclose(a, k * e, rtol=1e-4, atol=1e-12):
            return None
        return next(
            (cause for factor, cause in causes.items() if np.isclose(k, factor, rtol=1e-3)), None
        )

    return hint


def later_exercises(exercise: str) -> list[str]:
    """The exercises `exercise` may not import: those after it in the contract's order
    (activations, losses, perceptron, sgd, backprop), and every other one for matmul, which
    stands alone."""
    if exercise == "matmul":
        return [name for name in EXERCISES if name != exercise]
    return list(EXERCISES[EXERCISES.index(exercise) + 1:])


def import_without_later_exercises(module: ModuleType, later: list[str],
                                   calls: list[tuple[str, tuple[Any, ...]]]) -> dict[str, Any]:
    """Import the submission's module afresh with its later exercises out of reach, then call
    `calls` on it: [(name, args), ...], each on the result of the one before (the first on the
    module). Returns {"later": the later exercises whose absence broke it, "result": the last
    result}. An import of a later exercise that the module itself guards (a staged notebook
    star-imports every earlier cell's exercise inside `try`) breaks nothing and is allowed.

    A scenario (it runs next to the submission, so imports only inside itself). The fresh copy
    leaves the loaded module as it was; imports through the import statement are watched, at
    import time and during the calls.
    """
    import builtins
    import importlib.util

    package = module.__name__.rpartition(".")[0]
    out_of_reach = {f"{package}.{name}": name for name in later}
    tried: list[str] = []
    real_import = builtins.__import__

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        base = name
        if level > 0:  # relative: `from .losses import mse` or `from . import losses`
            anchor = (globals or {}).get("__package__") or ""
            anchor = anchor.rsplit(".", level - 1)[0] if level > 1 else anchor
            base = f"{anchor}.{name}" if name else anchor
        wanted = {base, *(f"{base}.{item}" for item in fromlist or ())}
        hits = sorted(out_of_reach[w] for w in wanted if w in out_of_reach)
        if hits:
            tried.extend(hits)
            raise ImportError(f"{hits[0]} is a later exercise")
        return real_import(name, globals, locals, fromlist, level)

    spec = importlib.util.spec_from_file_location(module.__name__, module.__file__ or "")
    if spec is None or spec.loader is None:  # not a module from a file: nothing to import
        raise ImportError(f"{module.__name__} has no source file to import afresh")
    fresh = importlib.util.module_from_spec(spec)
    result: Any = fresh
    builtins.__import__ = guarded_import
    try:
        spec.loader.exec_module(fresh)
        for name, args in calls:
            result = getattr(result, name)(*args)
    except ImportError:
        if not tried:
            raise
        return {"later": sorted(set(tried)), "result": None}
    finally:
        builtins.__import__ = real_import
    return {"later": [], "result": result}


def check_imports_no_later_exercise(impl: Any, exercise: str,
                                    calls: list[tuple[str, tuple[Any, ...]]]) -> Any:
    """The exercise works with no later exercise present (the contract's order: a later
    exercise may import an earlier one, never the reverse; matmul stands alone). Returns what
    the last of `calls` returned."""
    __tracebackhide__ = True
    later = later_exercises(exercise)
    outcome = impl.run(import_without_later_exercises, later, calls)
    if outcome["later"]:
        allowed = [name for name in EXERCISES if name != exercise and name not in later]
        may = f"only {', '.join(allowed)}" if allowed else "no other exercise"
        fail(f"{exercise}.py imports {', '.join(outcome['later'])}, a later exercise: "
             f"{exercise} may import {may} (a later file may be missing or unfinished, and it "
             "may import this one)")
    return outcome["result"]
