"""The matmul table: its layout on fixed rows, and a real (tiny) run on the reference."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from grader.tools import matmul_table
from grader.tools.matmul_table import Row, format_seconds, format_table, run_table, save_plot
from solutions import matmul as ref

ROWS = [
    Row(64, "naive Python", 0.25, 2 * 64**3 / 0.25 / 1e12),
    Row(64, "NumPy float32", 2.5e-5, 2 * 64**3 / 2.5e-5 / 1e12),
    Row(2048, "torch CUDA bfloat16", 3.1e-5, 2 * 2048**3 / 3.1e-5 / 1e12),
]


def test_format_table_aligns_columns() -> None:
    assert format_table(ROWS) == (
        "|    n | backend             | median time | TFLOP/s |\n"
        "|-----:|:--------------------|------------:|--------:|\n"
        "|   64 | naive Python        |      250 ms | 2.1e-06 |\n"
        "|   64 | NumPy float32       |       25 us |   0.021 |\n"
        "| 2048 | torch CUDA bfloat16 |       31 us |     554 |"
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1.5, "1.5 s"), (0.0123, "12.3 ms"), (4.56e-5, "45.6 us"), (7e-8, "70 ns")],
)
def test_format_seconds_picks_the_unit(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text


def test_run_table_on_tiny_sizes() -> None:
    rows = run_table(ref, [4, 8], naive_max=4, cuda=False, warmup=1, repeats=2)
    assert [(r.n, r.backend) for r in rows] == [
        (4, "naive Python"), (4, "NumPy float32"), (4, "torch CPU float32"),
        (8, "NumPy float32"), (8, "torch CPU float32"),
    ]
    for r in rows:
        assert r.median_s > 0
        assert r.tflops == pytest.approx(2 * r.n**3 / r.median_s / 1e12)


def test_run_table_times_with_the_given_module(monkeypatch) -> None:
    """A student's table shows their own time_it at work."""
    calls = []

    def time_it(fn, warmup, repeats, sync=None):
        calls.append((warmup, repeats))
        fn()
        return {"median_s": 1.0, "min_s": 1.0, "times_s": [1.0]}

    monkeypatch.setattr(ref, "time_it", time_it)
    rows = run_table(ref, [2], naive_max=2, cuda=False, warmup=2, repeats=5)
    assert {r.median_s for r in rows} == {1.0}
    assert calls[1:] == [(2, 5), (2, 5)]  # NumPy, then torch CPU through benchmark_matmul


def test_save_plot_without_matplotlib_says_how_to_get_it(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(matmul_table.PlotUnavailable, match="pip install matplotlib"):
        save_plot(ROWS, tmp_path / "plot.png")


def test_save_plot_writes_an_image(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    save_plot(ROWS, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
