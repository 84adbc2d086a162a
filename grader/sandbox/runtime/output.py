"""What the submission prints, kept as the grader keeps it: the first part, never an error.

The worker's fds 1 and 2 are the grader's output file. The grader shows the first
`Limits.output_bytes` of what a test printed and empties the file between tests; past that, a
write is dropped here (and counted, for the grader to say how much), so that printing a lot
never fills the file up to its size limit, which would raise `OSError: File too large` inside the
submission's own code. Honest code that prints 1 GB passes or fails on its answers alone.
"""

from __future__ import annotations

import io
import os
import sys

DEFAULT_KEPT_BYTES = 64 * 2**10  # until the grader says (its first request carries its limit)


class OutputBudget:
    """The bytes of output a request may still add to the file, shared by stdout and stderr."""

    def __init__(self, fd: int, kept_bytes: int = DEFAULT_KEPT_BYTES) -> None:
        self.fd, self.kept_bytes = fd, kept_bytes
        self.left = kept_bytes
        self.dropped = 0

    def begin(self) -> None:
        """At each request: what the file holds already (the grader empties it between tests)
        counts against the kept part. On Windows the grader never empties it (it reads on from
        where it stopped), and there is no file size limit to stay under: each request may add
        the kept part."""
        try:
            held = 0 if sys.platform == "win32" else os.fstat(self.fd).st_size
        except OSError:
            held = 0
        self.left = max(0, self.kept_bytes - held)

    def take(self, size: int) -> int:
        """How many of `size` bytes to write; the rest are counted as dropped."""
        kept = min(size, self.left)
        self.left -= kept
        self.dropped += size - kept
        return kept

    def take_dropped(self) -> int:
        dropped, self.dropped = self.dropped, 0
        return dropped


class KeptOutput(io.RawIOBase):
    """A file descriptor of the output file, written through `budget`."""

    def __init__(self, fd: int, budget: OutputBudget) -> None:
        super().__init__()
        self.fd, self.budget = fd, budget

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(data).cast("B")
        kept = self.budget.take(len(view))
        written = 0
        while written < kept:
            try:
                written += os.write(self.fd, view[written:kept])
            except OSError:  # the file limit after all (a child process wrote too): drop it
                self.budget.dropped += kept - written
                break
        return len(view)


def keep_output(fd_out: int = 1, fd_err: int = 2) -> OutputBudget:
    """Make sys.stdout and sys.stderr write through one budget; returns it."""
    budget = OutputBudget(fd_out)
    for fd, name in ((fd_out, "stdout"), (fd_err, "stderr")):
        # A raw stream, not the buffered one typeshed asks for: with write_through each write
        # goes straight to it (nothing is held back to be lost at a crash).
        stream = io.TextIOWrapper(KeptOutput(fd, budget),  # type: ignore[type-var]
                                  encoding="utf-8", errors="backslashreplace", write_through=True)
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)
    return budget
