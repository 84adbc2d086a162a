"""The matmul benchmark as a table: naive Python, NumPy, torch on the CPU and on a GPU.

The timings go through the given exercise module's own `time_it` and `benchmark_matmul`, so a
student who runs the table sees their implementation at work (and a wrong `time_it` shows up as
an impossible GPU speed). `run_table` measures; `format_table` and `save_plot` only present.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

NAIVE, NUMPY, TORCH_CPU = "naive Python", "NumPy float32", "torch CPU float32"
CUDA_DTYPES = ("float32", "bfloat16")  # bfloat16 shows what tensor cores add
NAIVE_WARMUP, NAIVE_REPEATS = 1, 3  # seconds per call at n = 128: a few calls are plenty


class PlotUnavailable(RuntimeError):
    """matplotlib, which only `save_plot` needs, is not installed."""


@dataclass(frozen=True)
class Row:
    """One measurement: an (n, n) @ (n, n) product on one backend."""

    n: int
    backend: str
    median_s: float
    tflops: float


def row_from_timing(n: int, backend: str, median_s: float) -> Row:
    return Row(n, backend, median_s, 2 * n**3 / median_s / 1e12)


def cuda_backend(dtype: str) -> str:
    return f"torch CUDA {dtype}"


def run_table(
    module: ModuleType,
    sizes: list[int],
    naive_max: int,
    *,
    cuda: bool | None = None,
    warmup: int = 3,
    repeats: int = 10,
) -> list[Row]:
    """Time every backend at every size in `sizes`, with `module`'s time_it and benchmark_matmul.

    naive Python runs only for n <= naive_max (it needs about a second at n = 128). NumPy times
    float32 A @ B; torch runs on the CPU, and on CUDA (float32 and bfloat16) when `cuda` is true,
    or, when `cuda` is None, when torch sees a GPU. Rows come size by size, backends in that order.
    """
    if cuda is None:
        import torch

        cuda = torch.cuda.is_available()
    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        A = rng.standard_normal((n, n), dtype=np.float32)
        B = rng.standard_normal((n, n), dtype=np.float32)
        if n <= naive_max:
            timing = module.time_it(lambda A=A, B=B: module.matmul_naive(A, B),
                                    warmup=NAIVE_WARMUP, repeats=NAIVE_REPEATS)
            rows.append(row_from_timing(n, NAIVE, timing["median_s"]))
        timing = module.time_it(lambda A=A, B=B: A @ B, warmup=warmup, repeats=repeats)
        rows.append(row_from_timing(n, NUMPY, timing["median_s"]))
        result = module.benchmark_matmul(n, "cpu", "float32", warmup=warmup, repeats=repeats)
        rows.append(row_from_timing(n, TORCH_CPU, result["median_s"]))
        for dtype in CUDA_DTYPES if cuda else ():
            result = module.benchmark_matmul(n, "cuda", dtype, warmup=warmup, repeats=repeats)
            rows.append(row_from_timing(n, cuda_backend(dtype), result["median_s"]))
    return rows


def format_seconds(seconds: float) -> str:
    """3 significant digits in the unit that suits: 12.3 us, 4.56 ms, 1.23 s."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_table(rows: list[Row]) -> str:
    """The rows as a Markdown table with aligned columns: n, backend, median time, TFLOP/s."""
    header = ("n", "backend", "median time", "TFLOP/s")
    numeric = (True, False, True, True)  # numbers align on the right, names on the left
    cells = [(str(r.n), r.backend, format_seconds(r.median_s), f"{r.tflops:.3g}") for r in rows]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]
    columns = list(zip(widths, numeric, strict=True))

    def line(values: tuple[str, ...]) -> str:
        padded = [v.rjust(w) if right else v.ljust(w)
                  for v, (w, right) in zip(values, columns, strict=True)]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ":" if right else ":" + "-" * (w + 1)
                          for w, right in columns) + "|"
    return "\n".join([line(header), rule, *map(line, cells)])


def save_plot(rows: list[Row], path: Path) -> None:
    """TFLOP/s against n, both axes logarithmic, one line per backend, saved to `path`."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # write a file; no display needed
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise PlotUnavailable(
            "saving the plot needs matplotlib: pip install matplotlib (or the kit's [plot] extra)"
        ) from err
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for backend in dict.fromkeys(r.backend for r in rows):
        mine = [r for r in rows if r.backend == backend]
        ax.plot([r.n for r in mine], [r.tflops for r in mine], marker="o", label=backend)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    sizes = sorted({r.n for r in rows})
    ax.set_xticks(sizes, labels=[str(n) for n in sizes])
    ax.set(xlabel="n (an (n, n) @ (n, n) product)", ylabel="TFLOP/s",
           title="Matrix multiplication throughput")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
