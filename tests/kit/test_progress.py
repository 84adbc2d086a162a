"""The batch's progress line: count, rate and time left, redrawn on a terminal, logged elsewhere."""

from __future__ import annotations

import io
import math

import pytest

from grader.cohort.progress import ProgressBar, format_bar, format_duration, rate_and_left


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0:00"), (75.4, "1:15"), (3725, "1:02:05"), (math.inf, "?")]
)
def test_durations(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_rate_and_time_left() -> None:
    assert rate_and_left(10, 40, 20.0) == (0.5, 60.0)
    assert rate_and_left(0, 40, 5.0) == (0.0, math.inf)


def test_bar() -> None:
    assert format_bar(12, 30, 15.0, width=10) == (
        "[####......] 12/30  0.80/s  0:15 elapsed  0:22 left"
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_off_a_terminal() -> None:
    stream, clock = io.StringIO(), FakeClock()
    bar = ProgressBar(2, stream, interactive=False, clock=clock)
    clock.now += 4.0
    bar.advance("alice", "100/100")
    bar.note("skipped notes.txt: not a submission")
    clock.now += 4.0
    bar.advance("bob", "refused")
    assert stream.getvalue().splitlines() == [
        "[############............] 1/2  0.25/s  0:04 elapsed  0:04 left  alice: 100/100",
        "skipped notes.txt: not a submission",
        "[########################] 2/2  0.25/s  0:08 elapsed  0:00 left  bob: refused",
    ]


def test_one_redrawn_line_on_a_terminal() -> None:
    stream = io.StringIO()
    bar = ProgressBar(2, stream, interactive=True, clock=FakeClock())
    bar.advance("alice", "100/100")
    assert "\n" not in stream.getvalue() and stream.getvalue().startswith("\r\x1b[K[")
    bar.advance("bob", "0/100")
    assert stream.getvalue().endswith("bob: 0/100\n")
