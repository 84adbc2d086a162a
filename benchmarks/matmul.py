"""The matmul benchmark with the reference solution: print the table, record it in the docs.

Run from the repository root: `python -m benchmarks.matmul` (about a minute on 2 cores).
"""

from __future__ import annotations

import numpy as np
import torch

from benchmarks.report import machine_line, write_section
from grader.kit import kit_root
from grader.sandbox.runtime.loading import load_exercise
from grader.tools.matmul_table import format_table, run_table

SIZES = [64, 128, 256, 512, 1024, 2048]
NAIVE_MAX = 128  # naive Python takes about a second at n = 128, and 8x longer per doubling


def device_line() -> str:
    if torch.cuda.is_available():
        return f"GPU: {torch.cuda.get_device_name()}"
    return "no GPU on this machine; CUDA rows come from a lent GPU when one is available"


def main() -> None:
    reference = load_exercise(kit_root() / "solutions", "matmul")
    table = format_table(run_table(reference, SIZES, NAIVE_MAX))
    print(table)
    write_section("matmul", "\n".join([
        "## matmul: naive Python, NumPy and torch",
        "",
        "Median time of an (n, n) @ (n, n) product, and its speed, 2*n**3 FLOPs / median.",
        "Timed with the reference `time_it` (3 warmup calls, median of 10; naive Python: 1 "
        "warmup, median of 3) and `benchmark_matmul`.",
        "Reproduce: `python -m benchmarks.matmul`.",
        "",
        f"Machine: {machine_line()}, NumPy {np.__version__}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads); {device_line()}.",
        "",
        table,
    ]))


if __name__ == "__main__":
    main()
