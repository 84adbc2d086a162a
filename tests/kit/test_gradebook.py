"""The gradebook's pure parts: its columns, round trips, merging and the summary."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from grader.cohort.gradebook import (
    COLUMNS,
    GradebookError,
    Row,
    format_number,
    format_summary,
    gradebook_text,
    histogram_bins,
    merge_gradebooks,
    most_failed_tests,
    parse_gradebook,
    read_gradebook,
    summarize,
    write_gradebook,
    write_histogram_png,
)
from grader.kit import EXERCISES


def make_row(
    student: str, total: float = 50.0, flags: tuple[str, ...] = (), seconds: float = 1.25
) -> Row:
    points = {name: 0.0 for name in EXERCISES}
    points["activations"] = min(total, 15.0)
    points["losses"] = total - points["activations"]
    return Row(student, points, total, 100.0, flags, seconds)


def test_columns_are_the_contracts_in_order() -> None:
    assert COLUMNS == (
        "student", "activations", "losses", "perceptron", "sgd", "backprop", "matmul",
        "total", "max_total", "flags", "seconds",
    )
    assert gradebook_text([]).splitlines() == [",".join(COLUMNS)]


@pytest.mark.parametrize(
    ("value", "text"),
    [(15.0, "15"), (7.5, "7.5"), (11.666666, "11.67"), (0.0, "0"), (1e-9, "0"), (99.999, "100")],
)
def test_numbers_are_short_and_rounded(value: float, text: str) -> None:
    assert format_number(value) == text


def test_rows_are_sorted_and_flags_joined() -> None:
    text = gradebook_text([make_row("zoe", 100.0), make_row("amy", 0.0, ("timeout", "crashed"))])
    lines = text.splitlines()
    assert lines[1] == "amy,0,0,0,0,0,0,0,100,crashed;timeout,1.2"
    assert lines[2].startswith("zoe,15,85,")


def test_round_trip_is_stable() -> None:
    rows = [make_row("b, with comma", 33.333), make_row("a", 12.5, ("refused",))]
    text = gradebook_text(rows)
    assert gradebook_text(parse_gradebook(text)) == text


def test_write_then_read(tmp_path: Path) -> None:
    path = tmp_path / "out" / "gradebook.csv"
    write_gradebook([make_row("a", 40.0)], path)
    assert read_gradebook(path) == [make_row("a", 40.0, seconds=1.2)]
    assert [p.name for p in path.parent.iterdir()] == ["gradebook.csv"]


def test_wrong_columns_are_refused() -> None:
    with pytest.raises(GradebookError, match="not the gradebook's"):
        parse_gradebook("student,total\nalice,3\n")


def test_unreadable_row_is_refused() -> None:
    text = gradebook_text([make_row("a")]).replace(",50,", ",fifty,")
    with pytest.raises(GradebookError, match="unreadable row"):
        parse_gradebook(text)


def test_merge_is_the_sorted_union() -> None:
    shards = [("1.csv", [make_row("c"), make_row("a")]), ("2.csv", [make_row("b")])]
    merged = merge_gradebooks(shards)
    assert [row.student for row in merged] == ["a", "b", "c"]


def test_merge_refuses_a_student_twice() -> None:
    with pytest.raises(GradebookError, match=r"'a' is in both 1\.csv and 2\.csv"):
        merge_gradebooks([("1.csv", [make_row("a")]), ("2.csv", [make_row("a")])])


def test_histogram_puts_full_marks_in_the_last_bin() -> None:
    bins = histogram_bins([0.0, 9.99, 10.0, 55.0, 100.0], 100.0)
    assert [count for _, _, count in bins] == [2, 1, 0, 0, 0, 1, 0, 0, 0, 1]
    assert bins[-1][:2] == (90.0, 100.0)


def test_histogram_of_nothing_out_of_nothing() -> None:
    assert sum(count for _, _, count in histogram_bins([0.0], 0.0)) == 1


def result(outcomes: dict[str, str]) -> dict:
    return {"tests": [
        {"id": test_id, "exercise": test_id.split("::")[0], "outcome": outcome,
         "message": f"{test_id} went wrong\ntraceback"}
        for test_id, outcome in outcomes.items()
    ]}


def test_most_failed_counts_students_not_passing() -> None:
    results = [
        result({"losses::mse": "failed", "sgd::step": "timeout", "matmul::gpu": "skipped"}),
        result({"losses::mse": "error", "sgd::step": "passed", "matmul::gpu": "skipped"}),
        result({"losses::mse": "passed", "sgd::step": "passed", "activations::relu": "failed"}),
    ]
    ranked = most_failed_tests(results)
    assert [(t.test_id, t.students) for t in ranked] == [
        ("losses::mse", 2), ("activations::relu", 1), ("sgd::step", 1)
    ]
    assert ranked[0].exercise == "losses"
    assert ranked[0].message == "losses::mse went wrong"


def test_summary_text_names_means_histogram_flags_and_failures() -> None:
    rows = [make_row("a", 100.0), make_row("b", 20.0, ("timeout",)),
            make_row("c", 0.0, ("refused",))]
    results = [result({"losses::mse": "failed"})]
    summary = summarize(rows, results, {"activations": 15, "losses": 20})
    assert summary.exercise_means["activations"] == pytest.approx(10.0)
    assert summary.total_mean == pytest.approx(40.0)
    assert summary.flags == {"refused": 1, "timeout": 1}
    text = format_summary(summary)
    assert "3 students" in text
    assert "activations    10.00 / 15" in text
    assert "total          40.00 / 100  (median 20)" in text
    assert "flags: refused 1, timeout 1" in text
    assert "losses::mse" in text and "e.g. losses::mse went wrong" in text


def test_summary_of_an_empty_gradebook() -> None:
    assert "0 students" in format_summary(summarize([]))


HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


@pytest.mark.skipif(not HAS_MATPLOTLIB, reason="matplotlib is not installed (the plot extra)")
def test_histogram_png(tmp_path: Path) -> None:
    path = tmp_path / "totals.png"
    write_histogram_png(summarize([make_row("a", 80.0), make_row("b", 35.0)]), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
