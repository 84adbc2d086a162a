"""The instructor's gradebook: one row per student, as `gradebook.csv`, and its summary.

The columns are the contract's, in its order:

    student, activations, losses, perceptron, sgd, backprop, matmul,
    total, max_total, flags, seconds

`flags` lists outcomes worth a look (timeout, refused, crashed, ...) joined by ";", empty when
none. A row the grader could not grade (`grader-error`, not the submission's doing) has empty
point cells, never 0: it is no grade. Everything here is pure (rows in, text out) except
`write_gradebook`, `read_gradebook` and `write_histogram_png`, which only move that text to
and from files.
"""

from __future__ import annotations

import csv
import io
import os
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.kit import EXERCISES

COLUMNS: tuple[str, ...] = ("student", *EXERCISES, "total", "max_total", "flags", "seconds")


class GradebookError(ValueError):
    """A gradebook file that cannot be read or merged; the message is one line."""


@dataclass(frozen=True)
class Row:
    """One student's line of the gradebook. `points` maps every exercise to its points; an
    ungraded row (`graded` False: the grader failed) has none and no total."""

    student: str
    points: Mapping[str, float]
    total: float | None
    max_total: float
    flags: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def graded(self) -> bool:
        return self.total is not None


def format_number(value: float | None, decimals: int = 2) -> str:
    """`15.0` -> "15", `11.666` -> "11.67": rounded, without trailing zeros; None -> ""."""
    if value is None:
        return ""
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def row_to_record(row: Row) -> dict[str, str]:
    """The row as the CSV's strings, keyed by column."""
    record = {"student": row.student}
    record.update({name: format_number(row.points.get(name, 0.0) if row.graded else None)
                   for name in EXERCISES})
    record["total"] = format_number(row.total)
    record["max_total"] = format_number(row.max_total)
    record["flags"] = ";".join(sorted(set(row.flags)))
    record["seconds"] = format_number(row.seconds, decimals=1)
    return record


def record_to_row(record: Mapping[str, str], where: str = "gradebook") -> Row:
    """Parse one CSV record back into a Row; `where` names it in errors."""
    try:
        graded = record["total"] != ""
        return Row(
            student=record["student"],
            points={name: float(record[name]) for name in EXERCISES} if graded else {},
            total=float(record["total"]) if graded else None,
            max_total=float(record["max_total"]),
            flags=tuple(flag for flag in record["flags"].split(";") if flag),
            seconds=float(record["seconds"]),
        )
    except (KeyError, ValueError, AttributeError) as err:
        raise GradebookError(f"{where}: unreadable row {dict(record)!r} ({err})") from err


def gradebook_text(rows: Iterable[Row]) -> str:
    """The CSV text of the rows, sorted by student, header first."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in sorted(rows, key=lambda r: r.student):
        writer.writerow(row_to_record(row))
    return buffer.getvalue()


def parse_gradebook(text: str, where: str = "gradebook") -> list[Row]:
    """Rows of a gradebook's CSV text; the header must be exactly the contract's columns."""
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise GradebookError(
            f"{where}: columns {', '.join(reader.fieldnames or ()) or '(none)'} are not the "
            f"gradebook's ({', '.join(COLUMNS)})"
        )
    return [record_to_row(record, where) for record in reader]


def write_gradebook(rows: Iterable[Row], path: Path) -> None:
    """Write the gradebook atomically: a reader (or an interrupted batch) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(gradebook_text(rows))
    os.replace(partial, path)


def read_gradebook(path: Path) -> list[Row]:
    try:
        text = path.read_text()
    except OSError as err:
        raise GradebookError(f"cannot read {path}: {err.strerror}") from err
    return parse_gradebook(text, where=str(path))


def merge_gradebooks(shards: Sequence[tuple[str, Sequence[Row]]]) -> list[Row]:
    """Union of the shards' rows, sorted by student; `shards` is (name, rows) pairs.

    Shards of one batch are disjoint, so a student found twice means the wrong files were
    merged (or one shard twice): that is refused rather than guessed.
    """
    seen: dict[str, str] = {}
    merged: list[Row] = []
    for name, rows in shards:
        for row in rows:
            if row.student in seen:
                raise GradebookError(
                    f"student {row.student!r} is in both {seen[row.student]} and {name}: "
                    "merge the shards of one batch, each once"
                )
            seen[row.student] = name
            merged.append(row)
    return sorted(merged, key=lambda r: r.student)


# --- the summary -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailedTest:
    """A test and how many students did not pass it, with the message most of them saw."""

    test_id: str
    exercise: str
    students: int
    message: str


@dataclass(frozen=True)
class Summary:
    students: int
    exercise_means: dict[str, float]
    exercise_max: dict[str, float]
    total_mean: float
    total_median: float
    max_total: float
    histogram: list[tuple[float, float, int]]  # (low, high, count); the last bin includes high
    flags: dict[str, int]
    most_failed: list[FailedTest] = field(default_factory=list)


def histogram_bins(
    totals: Sequence[float], max_total: float, bins: int = 10
) -> list[tuple[float, float, int]]:
    """Counts of totals in equal bins over [0, max_total]: [low, high), the last [low, high]."""
    width = max_total / bins if max_total > 0 else 1.0
    counts = [0] * bins
    for total in totals:
        index = min(max(int(total // width), 0), bins - 1)
        counts[index] += 1
    return [(i * width, (i + 1) * width, counts[i]) for i in range(bins)]


def most_failed_tests(results: Iterable[Mapping[str, Any]], top: int = 10) -> list[FailedTest]:
    """The tests most students did not pass, from their result JSONs (the contract's schema).

    A test counts against a student when its outcome is failed, error or timeout (a skipped GPU
    test does not). Ties are broken by test id, so the list is deterministic.
    """
    misses: Counter[str] = Counter()
    exercise_of: dict[str, str] = {}
    messages: dict[str, Counter[str]] = {}
    for result in results:
        for test in result.get("tests", []):
            if test.get("outcome") in ("failed", "error", "timeout"):
                misses[test["id"]] += 1
                exercise_of[test["id"]] = test.get("exercise", "")
                first_line = (test.get("message") or "").strip().splitlines()[:1]
                messages.setdefault(test["id"], Counter())[first_line[0] if first_line else ""] += 1
    ranked = sorted(misses.items(), key=lambda item: (-item[1], item[0]))[:top]
    return [
        FailedTest(test_id, exercise_of[test_id], count, messages[test_id].most_common(1)[0][0])
        for test_id, count in ranked
    ]


def summarize(
    rows: Sequence[Row],
    results: Iterable[Mapping[str, Any]] = (),
    exercise_max: Mapping[str, float] | None = None,
) -> Summary:
    """Per-exercise means, the distribution of totals, flag counts and the most failed tests.

    `results` are the students' result JSONs (for the failed tests); `exercise_max` the rubric's
    points per exercise, when known.
    """
    graded = [row for row in rows if row.graded]  # an ungraded row has no points to count
    totals = [row.total for row in graded if row.total is not None]
    max_total = max((row.max_total for row in rows), default=0.0)
    return Summary(
        students=len(rows),
        exercise_means={
            name: statistics.fmean(row.points.get(name, 0.0) for row in graded) if graded
            else 0.0
            for name in EXERCISES
        },
        exercise_max=dict(exercise_max or {}),
        total_mean=statistics.fmean(totals) if totals else 0.0,
        total_median=statistics.median(totals) if totals else 0.0,
        max_total=max_total,
        histogram=histogram_bins(totals, max_total),
        flags=dict(sorted(Counter(flag for row in rows for flag in set(row.flags)).items())),
        most_failed=most_failed_tests(results),
    )


def format_summary(summary: Summary, bar_width: int = 40) -> str:
    """The summary as text for a terminal: means, a histogram of totals, flags, failed tests."""
    lines = [f"{summary.students} students"]
    lines.append("")
    lines.append("mean points per exercise")
    for name, mean in summary.exercise_means.items():
        out_of = summary.exercise_max.get(name)
        suffix = f" / {format_number(out_of)}" if out_of is not None else ""
        lines.append(f"  {name:<12} {mean:7.2f}{suffix}")
    lines.append(
        f"  {'total':<12} {summary.total_mean:7.2f} / {format_number(summary.max_total)}"
        f"  (median {format_number(summary.total_median)})"
    )
    lines.append("")
    lines.append("distribution of totals")
    peak = max((count for _, _, count in summary.histogram), default=0)
    for i, (low, high, count) in enumerate(summary.histogram):
        bracket = "]" if i == len(summary.histogram) - 1 else ")"
        bar = "#" * (round(bar_width * count / peak) if peak else 0)
        lines.append(f"  [{low:6.1f}, {high:6.1f}{bracket} {count:4d} {bar}".rstrip())
    if summary.flags:
        lines.append("")
        lines.append("flags: " + ", ".join(f"{flag} {n}" for flag, n in summary.flags.items()))
    if summary.most_failed:
        lines.append("")
        lines.append("tests most often failed (students who did not pass)")
        for test in summary.most_failed:
            lines.append(f"  {test.students:4d}  {test.test_id}")
            if test.message:
                lines.append(f"        e.g. {test.message[:120]}")
    return "\n".join(lines) + "\n"


def write_histogram_png(summary: Summary, path: Path) -> None:
    """Draw the distribution of totals as a PNG (needs matplotlib: the `plot` extra)."""
    import matplotlib

    matplotlib.use("Agg")  # no display: this runs in terminals and CI
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    lows = [low for low, _, _ in summary.histogram]
    widths = [high - low for low, high, _ in summary.histogram]
    counts = [count for _, _, count in summary.histogram]
    figure, axes = plt.subplots(figsize=(6, 3.5))
    axes.bar(lows, counts, width=widths, align="edge", edgecolor="black")
    axes.set_xlabel(f"total points (out of {format_number(summary.max_total)})")
    axes.set_ylabel("students")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # students come whole
    axes.set_title(f"Distribution of totals ({summary.students} students)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
