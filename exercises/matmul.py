"""Matrix multiplication, timed: why deep learning runs on GPUs.

A neural network spends most of its time in matrix products, so how fast a machine multiplies
matrices is, to a first approximation, how fast it trains. This exercise measures it, from three
Python loops up to a GPU, and shows how to time asynchronous hardware without fooling yourself.

FLOPs of a matmul. C = A @ B with A of shape (n, k) and B of shape (k, m) has n*m entries, each a
dot product of length k: k multiplications and k additions. So the product costs
    FLOPs = 2 * n * k * m,
about 1.4e11 for n = k = m = 4096. Speed is reported as FLOP/s = FLOPs / seconds; one TFLOP/s is
1e12 of them.

Arithmetic intensity. A processor only computes at full speed if memory can feed it. The ratio
    intensity = FLOPs / bytes moved
says how much work each byte brings. A square matmul moves at least A, B and C, 3*n*n values of
s bytes each, for 2*n**3 FLOPs: intensity = 2n / (3s), which grows with n (n = 4096 in float32:
about 680 FLOP per byte). Adding two vectors does 1 FLOP per 3 values moved, whatever n. Large
matmuls are therefore limited by arithmetic, not by memory: exactly the work that more
arithmetic units speed up.

Thousands of cores. A CPU has a few to a few dozen cores, each with vector units; a data-centre
GPU has thousands of simple cores (about 17,000 on an H100) plus tensor cores, units that multiply
small matrix tiles in one step (in float16 or bfloat16, or in TF32 for float32 inputs). Where a
CPU reaches from about 0.1 to a few TFLOP/s, a recent GPU sustains tens of TFLOP/s in float32 and
hundreds in bfloat16. Naive Python, where every multiply-add goes through the interpreter,
manages about 1e-5 TFLOP/s: some seven orders of magnitude below the GPU.

Asynchronous launches. `A @ B` on a CUDA tensor does not compute anything before it returns: it
puts a kernel in the GPU's queue and returns within microseconds, while the GPU works on. A clock
read right after the call measures the launch, not the product. `torch.cuda.synchronize()`
blocks until the queue is empty, so each timed region must run from before the call to after
the synchronisation returns. `time_it` takes that wait as its `sync` argument.

Warmup. The first calls pay one-off costs: creating the CUDA context, loading kernels, choosing a
cuBLAS algorithm, growing the memory allocator's pool, filling caches, raising clock speeds. Those
calls run untimed; then the median of the timed calls is reported, since a median ignores the
occasional run slowed down by the operating system.

TF32. On recent NVIDIA GPUs, torch may run float32 matmuls on tensor cores in TF32 (10-bit
mantissa) when `torch.backends.cuda.matmul.allow_tf32` is set (as
`torch.set_float32_matmul_precision("high")` does). `benchmark_matmul` leaves those settings as
they are: it measures what your program would get.

torch takes seconds to import, and only `benchmark_matmul` needs it, so it imports torch inside
the function: `import matmul` stays as quick as importing NumPy.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

DEVICES = ("cpu", "cuda")
DTYPES = ("float32", "float64", "float16", "bfloat16")  # names of torch dtypes: torch.float32...


def matmul_naive(A: ArrayLike, B: ArrayLike) -> np.ndarray:
    """C = A @ B with three Python loops: C[i, j] = sum over p of A[i, p] * B[p, j].

    A: (n, k), B: (k, m) -> C: (n, m). No @, dot, einsum or matmul: the point is to see what the
    interpreter costs, 2*n*k*m operations one at a time.
    C keeps the inputs' float dtype (float32 in, float32 out); integer inputs give float64.
    Shapes that do not chain (A's k differs from B's k) raise ValueError.
    """
    raise NotImplementedError("matmul: matmul_naive is not implemented yet")


def matmul_flops(n: int, k: int, m: int) -> int:
    """Floating-point operations of an (n, k) @ (k, m) product: 2 * n * k * m.

    Each of the n*m outputs is a length-k dot product: k multiplications and k additions.
    """
    raise NotImplementedError("matmul: matmul_flops is not implemented yet")


def time_it(
    fn: Callable[[], Any],
    warmup: int = 3,
    repeats: int = 10,
    sync: Callable[[], Any] | None = None,
) -> dict[str, Any]:
    """Time fn(): `warmup` untimed calls, then `repeats` timed ones, with time.perf_counter.

    Every call is fn() followed by sync() when sync is given (for a GPU:
    torch.cuda.synchronize, which waits until the work fn queued is done). Each timed region
    runs from just before fn() to just after sync() returns: without the sync, an asynchronous
    fn would be timed while its work is still queued.
    Returns {"median_s": median of the times, "min_s": the smallest,
             "times_s": the `repeats` times in seconds, in call order}.
    """
    raise NotImplementedError("matmul: time_it is not implemented yet")


def benchmark_matmul(
    n: int,
    device: str = "cpu",
    dtype: str = "float32",
    warmup: int = 3,
    repeats: int = 10,
) -> dict[str, Any]:
    """Time an (n, n) @ (n, n) torch matmul on `device` ("cpu" or "cuda") in `dtype`.

    `dtype` is one of DTYPES; anything else, or an unknown device, raises ValueError, and "cuda"
    where torch sees no GPU raises RuntimeError. The operands are made before timing, so only
    the product is timed, with `time_it` (on "cuda", sync=torch.cuda.synchronize).
    Import torch inside this function (it takes seconds to import).
    Returns {"n", "device", "dtype", "median_s", "tflops"}, where
        tflops = matmul_flops(n, n, n) / median_s / 1e12.
    """
    raise NotImplementedError("matmul: benchmark_matmul is not implemented yet")
