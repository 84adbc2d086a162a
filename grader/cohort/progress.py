"""Progress of a batch on stderr: count, rate and time left.

On a terminal one bar is redrawn in place; elsewhere (CI logs, files) each finished submission
gets a plain line, so a log reads as a record of what happened.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TextIO


def format_duration(seconds: float) -> str:
    """75 -> "1:15", 3725 -> "1:02:05"; "?" while unknown (nothing finished yet)."""
    if not math.isfinite(seconds):
        return "?"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def rate_and_left(done: int, total: int, elapsed: float) -> tuple[float, float]:
    """(submissions per second, seconds left) after `done` of `total` in `elapsed` seconds."""
    if done == 0 or elapsed <= 0:
        return 0.0, math.inf
    rate = done / elapsed
    return rate, (total - done) / rate


def format_bar(done: int, total: int, elapsed: float, width: int = 24) -> str:
    """"[##########..............] 12/30  0.80/s  1:40 elapsed  0:22 left"."""
    filled = width * done // total if total else width
    rate, left = rate_and_left(done, total, elapsed)
    return (
        f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}  {rate:.2f}/s  "
        f"{format_duration(elapsed)} elapsed  {format_duration(left)} left"
    )


class ProgressBar:
    """Reports each finished submission to `stream`; `clock` is injectable for tests."""

    def __init__(
        self,
        total: int,
        stream: TextIO,
        interactive: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.interactive = stream.isatty() if interactive is None else interactive
        self.clock = clock
        self.started = clock()

    def advance(self, student: str, outcome: str) -> None:
        """One more submission finished; `outcome` is a short note ("87.5/100", "refused")."""
        self.done += 1
        bar = format_bar(self.done, self.total, self.clock() - self.started)
        if self.interactive:
            # \r and clear-to-end-of-line redraw the bar in place.
            self.stream.write(f"\r\x1b[K{bar}  {student}: {outcome}")
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(f"{bar}  {student}: {outcome}\n")
        self.stream.flush()

    def note(self, line: str) -> None:
        """A line of its own (a skipped entry, an interruption), not overwritten by the bar."""
        prefix = "\r\x1b[K" if self.interactive else ""
        self.stream.write(f"{prefix}{line}\n")
        self.stream.flush()
