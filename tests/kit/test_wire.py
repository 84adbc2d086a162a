"""The sandbox's wire format: values round-trip exactly; nothing but data can come out of it."""

from __future__ import annotations

import math
import os
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.extra import numpy as hnp

from grader.sandbox.runtime.channel import Channel, ChannelClosed, Pipes, ProtocolError
from grader.sandbox.runtime.wire import Codec, describe_exception, rebuild_exception


def round_trip(value: object, codec: Codec | None = None) -> object:
    codec = codec or Codec()
    buffers: list[bytes] = []
    node = codec.encode(value, buffers)
    return codec.decode(node, [bytearray(b) for b in buffers])


def decode(node: object, buffers: list[bytes] = ()) -> object:  # type: ignore[assignment]
    return Codec().decode(node, [bytearray(b) for b in buffers])


@pytest.mark.parametrize("value", [
    None, True, False, 0, -7, 2**100, 1.5, -0.0, math.inf, "héllo", "",
    [1, [2.0, "x"]], (1, (2, None)), {"a": 1, 2: "b", (3, 4): [5]}, 1 + 2j,
    slice(1, None, 2), Ellipsis, [], (), {},
], ids=repr)
def test_python_values_round_trip_with_their_types(value: object) -> None:
    back = round_trip(value)
    assert back == value and type(back) is type(value)


def test_nan_and_negative_zero_survive() -> None:
    assert math.isnan(round_trip(math.nan))
    assert math.copysign(1.0, round_trip(-0.0)) == -1.0


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint16", "int32", "int64", "float16",
                                   "float32", "float64", "complex64", "complex128", ">f8", "<i2"])
def test_arrays_round_trip_as_plain_writable_arrays(dtype: str) -> None:
    original = (np.arange(24).reshape(2, 3, 4) % 3).astype(dtype)
    back = round_trip(original)
    assert type(back) is np.ndarray
    assert back.dtype == original.dtype and back.shape == original.shape
    assert np.array_equal(back, original)
    assert back.flags.writeable and not np.shares_memory(back, original)


@pytest.mark.parametrize("make", [
    lambda: np.float64(0.1), lambda: np.float32(1.5), lambda: np.int64(-3), lambda: np.uint8(200),
    lambda: np.bool_(True), lambda: np.complex64(1 - 2j), lambda: np.float16(0.25),
], ids=["f8", "f4", "i8", "u1", "bool", "c8", "f2"])
def test_numpy_scalars_keep_their_type(make: Callable[[], np.generic]) -> None:
    original = make()
    back = round_trip(original)
    assert type(back) is type(original) and back == original


@pytest.mark.parametrize("original", [
    np.zeros((0, 3)), np.array(5.0), np.arange(12.0).reshape(3, 4)[:, ::2],
    np.asfortranarray(np.arange(6.0).reshape(2, 3)),
], ids=["empty", "0-d", "strided", "fortran"])
def test_unusual_layouts_round_trip(original: np.ndarray) -> None:
    back = round_trip(original)
    assert back.shape == original.shape and np.array_equal(back, original)


def test_read_only_arrays_stay_read_only() -> None:
    original = np.ones(3)
    original.flags.writeable = False
    assert not round_trip(original).flags.writeable


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(hnp.scalar_dtypes().filter(lambda d: d.kind in "biufc"),
                  hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)))
def test_any_numeric_array_round_trips_bit_for_bit(original: np.ndarray) -> None:
    back = round_trip(original)
    assert back.dtype == original.dtype and back.tobytes() == original.tobytes()


class LyingArray(np.ndarray):
    def __eq__(self, other: object) -> bool:  # type: ignore[override]
        return True


@pytest.mark.parametrize("value", [
    np.array([1, "a"], dtype=object), np.array(["a", "b"]), np.zeros(2, dtype="f8,i4"),
    np.array(["2024-01-01"], dtype="datetime64[D]"), np.zeros(3).view(LyingArray),
    np.datetime64("2024-01-01"), object(), len, b"bytes", {1, 2},
], ids=["object", "str", "structured", "datetime", "subclass", "dt-scalar", "object()",
        "function", "bytes", "set"])
def test_what_is_not_numeric_data_is_refused(value: object) -> None:
    with pytest.raises(TypeError):
        Codec().encode(value, [])


def test_a_value_that_contains_itself_is_refused() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(TypeError, match="nested"):
        Codec().encode(loop, [])


@pytest.mark.parametrize("node", [
    {"$": "array", "d": "|O8", "s": [1], "b": 0},
    {"$": "array", "d": "<U3", "s": [1], "b": 0},
    {"$": "array", "d": "f8,O", "s": [1], "b": 0},
    {"$": "array", "d": "<f8", "s": [2], "b": 0},
    {"$": "array", "d": "<f8", "s": [-1], "b": 0},
    {"$": "scalar", "d": "|O8", "x": "00" * 8},
    {"$": "rng", "s": {"bit_generator": "os.system"}},
    {"$": "pickle", "v": "cos\nsystem"},
], ids=["object", "unicode", "structured", "short-buffer", "negative-shape", "object-scalar",
        "bit-generator", "unknown-tag"])
def test_decoding_refuses_what_the_format_does_not_allow(node: dict) -> None:
    with pytest.raises(ProtocolError):
        decode(node, [b"\0" * 8])


@pytest.mark.parametrize("bit_generator", ["PCG64", "MT19937", "Philox", "SFC64"])
def test_generators_cross_by_state_and_continue_identically(bit_generator: str) -> None:
    rng = np.random.Generator(getattr(np.random, bit_generator)(42))
    rng.random(3)
    back = round_trip(rng)
    assert type(back) is np.random.Generator
    assert np.array_equal(back.random(5), rng.random(5))


class Trusted(Codec):
    """The grader's side: it mirrors every array and Generator it sends."""

    def mirror_id(self, obj: object, seen: object) -> int:
        mid = self.mirrors.find(obj)
        if mid is None:
            mid = len(self.mirrors.objects) + 1
            self.mirrors.add(mid, obj, seen)
        return mid


class Untrusted(Codec):
    adopt_mirrors = True

    def mirror_id(self, obj: object, seen: object) -> int | None:
        return self.mirrors.find(obj)


def send(sender: Codec, receiver: Codec, values: dict[str, object]) -> dict[str, object]:
    message, buffers = sender.pack({}, values)
    received = [bytearray(b) for b in buffers]
    receiver.apply_mirrors(message, received)
    return {k: receiver.decode(message[k], received) for k in values}


def test_mirrored_arrays_change_in_place_on_the_other_side() -> None:
    grader, worker = Trusted(), Untrusted()
    params = {"w": np.zeros(3)}
    theirs = send(grader, worker, {"p": params})["p"]
    theirs["w"] -= 1.0  # the worker updates in place (SGD.step)
    send(worker, grader, {})  # any message carries what changed
    assert np.array_equal(params["w"], -np.ones(3))
    params["w"][0] = 5.0  # the test changes its array: the worker's copy follows
    send(grader, worker, {})
    assert theirs["w"][0] == 5.0


def test_a_mirrored_array_sent_back_is_the_callers_own_object() -> None:
    grader, worker = Trusted(), Untrusted()
    x = np.arange(3.0)
    theirs = send(grader, worker, {"x": x})["x"]
    theirs[1] = 10.0
    back = send(worker, grader, {"r": theirs})["r"]
    assert back is x and x[1] == 10.0
    assert send(grader, worker, {"x": x})["x"] is theirs  # one array, however often passed


def test_mirrored_generators_follow_each_other() -> None:
    grader, worker = Trusted(), Untrusted()
    rng = np.random.default_rng(3)
    theirs = send(grader, worker, {"rng": rng})["rng"]
    drawn = theirs.permutation(5)
    send(worker, grader, {})
    expected = np.random.default_rng(3)
    assert np.array_equal(drawn, expected.permutation(5))
    assert rng.random() == expected.random()


def test_frames_cross_a_pipe_with_their_buffers() -> None:
    read_fd, write_fd = os.pipe()
    try:
        channel = Channel(Pipes(read_fd, write_fd))
        channel.send({"op": "x", "n": [1, 2]}, [b"abc", b"", b"\x00" * 1000])
        message, buffers = channel.recv()
        assert message == {"op": "x", "n": [1, 2]}
        assert [bytes(b) for b in buffers] == [b"abc", b"", b"\x00" * 1000]
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_a_frame_claiming_more_than_the_limit_is_refused() -> None:
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, (2**31).to_bytes(4, "little") + (0).to_bytes(8, "little"))
        with pytest.raises(ProtocolError, match="too large"):
            Channel(Pipes(read_fd, write_fd)).recv()
    finally:
        os.close(read_fd)
        os.close(write_fd)


def frame(header: bytes, lengths: list[int]) -> bytes:
    """A frame's bytes up to its buffers: | header length | buffer count | lengths | header |"""
    return b"".join([len(header).to_bytes(4, "little"), len(lengths).to_bytes(4, "little"),
                     *(n.to_bytes(8, "little") for n in lengths), header])


@pytest.mark.parametrize("data", [
    frame(b'{"m":1} {}', []),  # more than one JSON value
    frame(b'["op"]', []),  # not an object
    frame(b'{"op":', []),
    frame(b'\xff', []),
    frame(b"{}", [2**40]),  # more buffer bytes than a frame may carry
    (0).to_bytes(4, "little") + (2**32 - 1).to_bytes(4, "little"),  # as many buffers
], ids=repr)
def test_a_frame_that_breaks_the_format_is_refused(data: bytes) -> None:
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, data)
        with pytest.raises(ProtocolError):
            Channel(Pipes(read_fd, write_fd)).recv()
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_frames_sent_back_to_back_are_read_one_at_a_time() -> None:
    read_fd, write_fd = os.pipe()
    try:
        sender = Channel(Pipes(read_fd, write_fd))
        receiver = Channel(Pipes(read_fd, write_fd))
        for i in range(3):
            sender.send({"i": i}, [bytes([i]) * i])
        for i in range(3):  # the first read takes all three frames in
            message, buffers = receiver.recv()
            assert message == {"i": i} and [bytes(b) for b in buffers] == [bytes([i]) * i]
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_a_closed_channel_says_so() -> None:
    read_fd, write_fd = os.pipe()
    os.close(write_fd)
    try:
        with pytest.raises(ChannelClosed):
            Channel(Pipes(read_fd, -1)).recv()
    finally:
        os.close(read_fd)


class ShapeError(ValueError):
    pass


def test_exceptions_come_back_as_their_builtin_type() -> None:
    err = rebuild_exception(describe_exception(ValueError("shapes (3,) and (4,)")))
    assert type(err) is ValueError and str(err) == "shapes (3,) and (4,)"
    err = rebuild_exception(describe_exception(ShapeError("bad"), "  File \"losses.py\", line 3"))
    assert type(err) is ValueError
    assert str(err).startswith("ShapeError: bad") and "losses.py" in str(err)


@pytest.mark.parametrize("cls", [SystemExit, KeyboardInterrupt, GeneratorExit])
def test_exceptions_that_would_stop_the_grader_become_runtime_errors(cls: type) -> None:
    assert type(rebuild_exception(describe_exception(cls("x")))) is RuntimeError


def test_unknown_exception_names_become_runtime_errors() -> None:
    assert type(rebuild_exception({"mro": ["os.system", "print"], "msg": "x"})) is RuntimeError
