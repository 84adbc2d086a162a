"""The sandbox's wire format: how values cross between the grader and the submission's process.

No pickle: unpickling runs code that the sender chose. A message is a JSON header plus raw byte
buffers (a frame: channel.py), and the receiver rebuilds only plain values from it. Inside a
message, a value is a *node*:

| value                                      | node                                                |
| ------------------------------------------ | --------------------------------------------------- |
| None, bool, int, float, str                | itself (NaN and infinities as JSON extensions)      |
| list                                       | [node, ...]                                         |
| tuple, dict, complex, slice, Ellipsis      | {"$": "tuple" / "dict" / ..., "v": ...}             |
| NumPy scalar (bool, int, uint, float, complex) | {"$": "scalar", "d": "<f4", "x": hex bytes}    |
| ndarray of those dtypes                    | {"$": "array", "d": "<f8", "s": shape, "b": buffer} |
| np.random.Generator                        | {"$": "rng", "s": node of its bit_generator.state}  |
| anything else                              | a peer's own node: a handle or a callback           |

An array or Generator node may carry "m", a mirror id: the two sides then keep one object each
and hold them equal (see `Mirrors`). The receiver rebuilds arrays as plain `np.ndarray` from the
bytes, whatever the sender claims; an ndarray subclass or an object array is refused when sent.
"""

from __future__ import annotations

import builtins
import functools
import math
import re
from typing import Any

import numpy as np

from .channel import ProtocolError
from .protocol import Exc, Key

MAX_DEPTH = 64
# Dtypes that cross: byte order, kind (bool, int, uint, float, complex), item size.
DTYPE = re.compile(r"^[<>|=][biufc](1|2|4|8|10|12|16|32)$")
PLAIN = (type(None), bool, int, float, str)
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
# Exceptions that would stop the grader itself rather than fail one test.
NOT_REBUILT = ("BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit",
               "BaseExceptionGroup", "ExceptionGroup")


# --- mirrored objects ------------------------------------------------------------------------


def rng_state_key(state: Any) -> Any:
    """A comparable form of a bit generator's state (its arrays become bytes)."""
    if isinstance(state, dict):
        return tuple((k, rng_state_key(v)) for k, v in sorted(state.items()))
    if isinstance(state, np.ndarray):
        return (state.dtype.str, state.shape, state.tobytes())
    return state


def snapshot(obj: Any) -> Any:
    """A comparable copy of an array's or a Generator's contents.

    An array's holds its dtype object, not `dtype.str`, which NumPy formats anew at each read.
    """
    if isinstance(obj, np.ndarray):
        return (obj.dtype, obj.shape, obj.tobytes())
    return rng_state_key(obj.bit_generator.state)


class Mirrors:
    """Arrays and Generators the grader passed, each kept as one object on both sides.

    The grader gives each a mirror id (`m`); the worker keeps its copy under the same id, so an
    array passed twice is one array there too. Before each message, a side sends the mirrored
    objects that changed since the last message (`changed`); on receipt, the other side writes
    the new contents into its own object (`resolve`). `SGD.step` updating `params` in place, or
    `numerical_gradient` perturbing `x` while calling back `f`, is thereby seen by the test's own
    arrays, and a test's change to its array is seen by the object that holds the worker's copy.
    """

    def __init__(self) -> None:
        self.objects: dict[int, Any] = {}
        self.snapshots: dict[int, Any] = {}
        self.mid_of: dict[int, int] = {}  # id(object) -> mirror id (objects are held: ids stay)

    def find(self, obj: Any) -> int | None:
        return self.mid_of.get(id(obj))

    def add(self, mid: int, obj: Any, seen: Any = None) -> None:
        """Mirror `obj` as `mid`; `seen`: its snapshot, where the caller has it already."""
        self.objects[mid] = obj
        self.snapshots[mid] = snapshot(obj) if seen is None else seen
        self.mid_of[id(obj)] = mid

    def remove(self, mids: list[int]) -> None:
        for mid in mids:
            obj = self.objects.pop(mid, None)
            self.snapshots.pop(mid, None)
            if obj is not None:
                self.mid_of.pop(id(obj), None)

    def invalidate(self) -> None:
        """Forget what the other side saw: every mirrored object is sent again with the next
        message (after a message that failed to encode half-way)."""
        self.snapshots = dict.fromkeys(self.snapshots)

    def changed(self) -> list[tuple[int, Any]]:
        """Objects whose contents differ from what the other side last saw."""
        found = []
        for mid, obj in self.objects.items():
            if snapshot(obj) != self.snapshots[mid]:
                found.append((mid, obj))
        return found

    def resolve(self, mid: int, fresh: Any, adopt: bool) -> Any:
        """The local object of `mid`, updated to `fresh`; `fresh` itself when there is none."""
        local = self.objects.get(mid)
        if local is None:
            if adopt:
                self.add(mid, fresh)
            return fresh
        if isinstance(local, np.ndarray):
            if not isinstance(fresh, np.ndarray) or local.shape != fresh.shape or (
                local.dtype != fresh.dtype
            ):
                return fresh
            if local.flags.writeable:
                np.copyto(local, fresh)
        elif isinstance(fresh, np.random.Generator):
            local.bit_generator.state = fresh.bit_generator.state
        self.snapshots[mid] = snapshot(local)
        return local


# --- nodes -----------------------------------------------------------------------------------


class Codec:
    """Values <-> nodes for one side. Subclasses say how other objects cross (`encode_other`,
    `decode_other`) and which arrays and Generators are mirrored (`mirror_id`)."""

    # The worker adopts mirror ids it has not seen; the grader never learns ids from the worker.
    adopt_mirrors = False

    def __init__(self) -> None:
        self.mirrors = Mirrors()

    def mirror_id(self, obj: Any, seen: Any) -> int | None:
        """The mirror id of `obj` (whose snapshot is `seen`), mirroring it now where this side
        decides so; None: it crosses as a copy."""
        return None

    def encode_other(self, value: Any) -> dict[str, Any]:
        raise TypeError(f"a {type(value).__name__} cannot cross to the other process")

    def decode_other(self, node: dict[str, Any]) -> Any:
        raise ProtocolError(f"unknown node {node.get('$')!r}")

    def encode(self, value: Any, buffers: list[bytes], depth: int = 0) -> Any:
        kind = type(value)
        if kind in PLAIN:
            return value
        if depth > MAX_DEPTH:
            raise TypeError("a value nested more than 64 levels deep (or one that contains itself)")
        if kind is np.ndarray:
            return self.encode_array(value, buffers)
        if kind is list:  # a call's arguments: here for every call
            return [self.encode(v, buffers, depth + 1) for v in value]
        if kind is tuple or kind is dict:
            return self.encode_container(value, buffers, depth)
        if isinstance(value, np.ndarray):
            raise TypeError(
                f"{kind.__name__} is a subclass of numpy.ndarray: return a plain numpy.ndarray "
                "(np.asarray(x))"
            )
        if isinstance(value, np.generic):
            return encode_scalar(value)
        for base in (bool, int, float, str):
            if isinstance(value, base):  # an enum member or another subclass: its plain value
                return base(value)
        if isinstance(value, (list, tuple, dict)):  # a namedtuple, a defaultdict...: plainly
            return self.encode_container(value, buffers, depth)
        if kind is complex:
            return {"$": "complex", "v": [value.real, value.imag]}
        if kind is slice:
            return {"$": "slice", "v": [self.encode(v, buffers, depth + 1)
                                        for v in (value.start, value.stop, value.step)]}
        if value is Ellipsis:
            return {"$": "ellipsis"}
        if kind is np.random.Generator:
            return self.encode_rng(value, buffers)
        return self.encode_other(value)

    def encode_container(self, value: list | tuple | dict, buffers: list[bytes],
                         depth: int) -> Any:
        if isinstance(value, list):
            return [self.encode(v, buffers, depth + 1) for v in value]
        if isinstance(value, tuple):
            return {"$": "tuple", "v": [self.encode(v, buffers, depth + 1) for v in value]}
        return {"$": "dict", "v": [[self.encode(k, buffers, depth + 1),
                                    self.encode(v, buffers, depth + 1)]
                                   for k, v in value.items()]}

    def encode_array(self, value: np.ndarray, buffers: list[bytes]) -> dict[str, Any]:
        dtype = value.dtype
        if dtype.kind not in "biufc" or dtype.fields is not None:
            raise TypeError(
                f"an array of dtype {dtype} cannot cross: only bool, integer, float and "
                "complex arrays can"
            )
        data = value.tobytes()
        buffers.append(data)
        node = {"$": "array", "d": dtype.str, "s": list(value.shape), "b": len(buffers) - 1}
        if not value.flags.writeable:
            node["ro"] = True
        seen = (dtype, value.shape, data)
        mid = self.mirror_id(value, seen)
        if mid is not None:
            node["m"] = mid
            self.mirrors.snapshots[mid] = seen
        return node

    def encode_rng(self, value: np.random.Generator, buffers: list[bytes]) -> dict[str, Any]:
        state = value.bit_generator.state
        # The state's own arrays (MT19937's key) are data of the node, never mirrored.
        node = {"$": "rng", "s": PLAIN_CODEC.encode(state, buffers)}
        seen = rng_state_key(state)
        mid = self.mirror_id(value, seen)
        if mid is not None:
            node["m"] = mid
            self.mirrors.snapshots[mid] = seen
        return node

    def decode(self, node: Any, buffers: list[bytearray], depth: int = 0) -> Any:
        kind = type(node)
        if kind is list:
            return [self.decode(v, buffers, depth + 1) for v in node]
        if kind is not dict:
            return node
        if depth > MAX_DEPTH:
            raise ProtocolError("nodes nested too deeply")
        tag = node.get("$")
        if tag == "array":
            array = decode_array(node, buffers)
            return self.resolve_mirror(node, array)
        if tag == "tuple":
            return tuple(self.decode(v, buffers, depth + 1) for v in node["v"])
        if tag == "dict":
            return {self.decode(k, buffers, depth + 1): self.decode(v, buffers, depth + 1)
                    for k, v in node["v"]}
        if tag == "scalar":
            return decode_scalar(node)
        if tag == "complex":
            return complex(float(node["v"][0]), float(node["v"][1]))
        if tag == "slice":
            return slice(*(self.decode(v, buffers, depth + 1) for v in node["v"]))
        if tag == "ellipsis":
            return Ellipsis
        if tag == "rng":
            rng = decode_rng(PLAIN_CODEC.decode(node["s"], buffers, depth + 1))
            return self.resolve_mirror(node, rng)
        return self.decode_other(node)

    def resolve_mirror(self, node: dict[str, Any], fresh: Any) -> Any:
        mid = node.get("m")
        if mid is None:
            return fresh
        if type(mid) is not int:
            raise ProtocolError("bad mirror id")
        return self.mirrors.resolve(mid, fresh, self.adopt_mirrors)

    def pack(
        self, message: dict[str, Any], values: dict[str, Any]
    ) -> tuple[dict[str, Any], list[bytes]]:
        """`message` with the mirrored objects that changed since the last one, and each of
        `values` as a node."""
        buffers: list[bytes] = []
        changed = self.mirrors.changed() if self.mirrors.objects else []
        if changed:
            message[Key.MIRRORS] = [self.encode(obj, buffers) for _, obj in changed]
        for key, value in values.items():
            message[key] = self.encode(value, buffers)
        return message, buffers

    def apply_mirrors(self, message: dict[str, Any], buffers: list[bytearray]) -> None:
        for node in message.get(Key.MIRRORS, ()):
            self.decode(node, buffers)


PLAIN_CODEC = Codec()


def encode_scalar(value: np.generic) -> Any:
    if isinstance(value, np.str_):
        return str(value)
    if value.dtype.kind not in "biufc":
        raise TypeError(f"a NumPy {value.dtype} scalar cannot cross: only numeric ones can")
    return {"$": "scalar", "d": value.dtype.str, "x": value.tobytes().hex()}


@functools.lru_cache(maxsize=64)
def checked_dtype(text: Any) -> np.dtype:
    if not isinstance(text, str) or not DTYPE.match(text):
        raise ProtocolError(f"dtype {text!r} is not allowed")
    dtype = np.dtype(text)
    if dtype.kind not in "biufc":
        raise ProtocolError(f"dtype {text!r} is not allowed")
    return dtype


def decode_scalar(node: dict[str, Any]) -> np.generic:
    dtype = checked_dtype(node["d"])
    data = bytes.fromhex(node["x"])
    if len(data) != dtype.itemsize:
        raise ProtocolError("scalar of the wrong size")
    return np.frombuffer(data, dtype)[0]


def decode_array(node: dict[str, Any], buffers: list[bytearray]) -> np.ndarray:
    """A plain, writable ndarray from a node's dtype, shape and buffer (nothing else)."""
    dtype = checked_dtype(node["d"])
    shape = node["s"]
    if type(shape) is not list or len(shape) > 32:
        raise ProtocolError(f"bad array shape {shape!r:.80}")
    for n in shape:
        if type(n) is not int or n < 0:
            raise ProtocolError(f"bad array shape {shape!r:.80}")
    data = buffers[node["b"]]
    if len(data) != dtype.itemsize * math.prod(shape):
        raise ProtocolError("array buffer of the wrong size")
    array = np.frombuffer(data, dtype).reshape(shape)
    if node.get("ro"):
        array.flags.writeable = False
    return array


def decode_rng(state: Any) -> np.random.Generator:
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in BIT_GENERATORS:
        raise ProtocolError(f"unknown bit generator {name!r}")
    bit_generator = getattr(np.random, name)()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


# --- exceptions ------------------------------------------------------------------------------


def describe_exception(err: BaseException, traceback_text: str = "") -> dict[str, Any]:
    """What crosses for an exception: the names of its classes, its message, a traceback text.

    `Exc.TOKEN` marks an exception that a callback raised on the other side and that came back
    through unchanged: that side raises its original again.
    """
    info: dict[str, Any] = {Exc.MRO: [c.__name__ for c in type(err).__mro__], Exc.MESSAGE: str(err),
            Exc.TRACEBACK: traceback_text}
    token = getattr(err, "kit_token", None)
    if type(token) is int:
        info[Exc.TOKEN] = token
    return info


def builtin_exception_type(mro: list[str]) -> type[BaseException]:
    """The first builtin exception class among `mro` (names), RuntimeError when there is none."""
    for name in mro:
        found = getattr(builtins, name, None) if isinstance(name, str) else None
        if isinstance(found, type) and issubclass(found, BaseException):
            return RuntimeError if name in NOT_REBUILT else found
    return RuntimeError


def rebuild_exception(info: dict[str, Any]) -> BaseException:
    """The same builtin exception type, with the sender's message (and traceback text, if any).

    A class of the sender's own (`class ShapeError(ValueError)`) becomes its nearest builtin base,
    its name kept in the message, so that `pytest.raises(ValueError)` still sees a ValueError.
    """
    mro = [str(n) for n in info.get(Exc.MRO, [])] or ["RuntimeError"]
    cls = builtin_exception_type(mro)
    message = str(info.get(Exc.MESSAGE, ""))
    if mro[0] != cls.__name__:
        message = f"{mro[0]}: {message}" if message else mro[0]
    if info.get(Exc.TRACEBACK):
        message = f"{message}\n{info[Exc.TRACEBACK]}"
    try:
        err = cls(message)
    except TypeError:  # a builtin whose constructor wants more (UnicodeDecodeError...)
        err = RuntimeError(f"{cls.__name__}: {message}")
    if type(info.get(Exc.TOKEN)) is int:
        err.kit_token = info[Exc.TOKEN]  # type: ignore[attr-defined]
    return err
