"""The channel's JSON encoder (channel.compact_json_encoder) writes what json.dumps writes.

It calls CPython's private `json.encoder.c_make_encoder` with nine positional arguments, made
once rather than per message (docs/benchmarks.md has what that saves); these tests catch a
Python whose private encoder takes or means them differently, and check the public fallback.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.sandbox.runtime import channel

SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(-2**70, 2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text())
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=40,
)
# Escapes, control characters, non-ASCII, astral characters and a lone surrogate.
AWKWARD = ['"', "\\", "\n\t\r\b\f", "\x00\x1f\x7f", "héllo", "日本", "😀", "\ud800", "</script>"]


def dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_the_encoder_writes_what_json_dumps_writes(value: object) -> None:
    assert channel.JSON_ENCODE(value) == dumps(value)


@pytest.mark.parametrize("text", AWKWARD, ids=ascii)
def test_strings_are_escaped_as_json_dumps_escapes_them(text: str) -> None:
    value = {text: [text, {"k": text}]}
    assert channel.JSON_ENCODE(value) == dumps(value)
    assert channel.JSON_ENCODE(value).isascii()


def test_nan_and_infinities_are_written_as_json_extensions() -> None:
    written = channel.JSON_ENCODE([math.nan, math.inf, -math.inf, -0.0])
    assert written == "[NaN,Infinity,-Infinity,-0.0]"


def test_keys_that_are_not_strings_become_strings_as_in_json_dumps() -> None:
    value = {1: "a", 2.5: "b", False: "c", None: "d"}
    assert channel.JSON_ENCODE(value) == dumps(value)


@pytest.mark.parametrize("value", [object(), {"a": {1, 2}}, [b"bytes"], {(1, 2): 3}], ids=repr)
def test_what_json_refuses_the_encoder_refuses(value: object) -> None:
    with pytest.raises(TypeError):
        dumps(value)
    with pytest.raises(TypeError):
        channel.JSON_ENCODE(value)


@settings(max_examples=100, deadline=None)
@given(VALUES)
def test_without_the_c_encoder_the_fallback_writes_the_same(value: object) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(channel, "c_make_encoder", None)
        fallback = channel.compact_json_encoder()
    assert fallback(value) == dumps(value)
