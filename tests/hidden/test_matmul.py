"""Hidden tests of the matmul exercise: random products against NumPy, dtypes, and the exact
semantics of time_it (every call timed on its own, sync inside the region, warmup untimed, the
median) on a fake asynchronous device whose launches differ in cost.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest

from grader.suites.checks import assert_close, assert_dtype, assert_equal, fail

# Work of each timed launch, in seconds: uneven, so that a time_it that averages the calls,
# times the previous call's work, or syncs once at the end cannot match it call by call.
TIMED_WORK_S = [0.003, 0.001, 0.005, 0.001, 0.002]
WARMUP_WORK_S = [0.0, 0.0]  # free warmups: a time of ~0 betrays a timed warmup


class FakeAsyncDevice:
    """A stand-in for a GPU: `launch` queues the next launch's work and returns at once;
    `synchronize` does all queued work (sleeps), as torch.cuda.synchronize waits for the GPU."""

    def __init__(self, durations_s: list[float]) -> None:
        self.durations_s = durations_s
        self.launches = 0
        self.queued_s = 0.0

    def launch(self) -> None:
        if self.launches < len(self.durations_s):
            self.queued_s += self.durations_s[self.launches]
        self.launches += 1

    def synchronize(self) -> None:
        time.sleep(self.queued_s)
        self.queued_s = 0.0


def random_operands(rng: np.random.Generator, n: int, k: int, m: int, dtype) -> tuple:
    if np.issubdtype(dtype, np.integer):
        return (rng.integers(-9, 10, (n, k)).astype(dtype),
                rng.integers(-9, 10, (k, m)).astype(dtype))
    return rng.standard_normal((n, k)).astype(dtype), rng.standard_normal((k, m)).astype(dtype)


SHAPES = [(1, 7, 1), (1, 5, 4), (6, 5, 1), (4, 1, 3), (3, 4, 5), (7, 2, 6), (8, 8, 8), (2, 9, 3)]


@pytest.mark.weight(3)
@pytest.mark.parametrize(("n", "k", "m"), SHAPES, ids=str)
@pytest.mark.rule("matmul.matmul_naive.product")
def test_matmul_naive_matches_numpy(impl, n, k, m) -> None:
    rng = np.random.default_rng(n * 100 + k * 10 + m)
    A, B = random_operands(rng, n, k, m, np.float64)
    assert_close(
        impl.matmul_naive(A, B), A @ B, f"matmul_naive of shapes {A.shape} and {B.shape}",
        hint="C[i, j] = sum over p of A[i, p] * B[p, j], p running over all k",
    )


@pytest.mark.weight(2)
@pytest.mark.parametrize("dtype", [np.int64, np.int32], ids=["int64", "int32"])
@pytest.mark.rule("matmul.all.integer-gives-float64")
def test_matmul_naive_integer_inputs_give_float64(impl, dtype) -> None:
    A, B = random_operands(np.random.default_rng(3), 3, 4, 2, dtype)
    C = impl.matmul_naive(A, B)
    assert_dtype(C, np.float64, f"matmul_naive of {np.dtype(dtype)} inputs")
    assert_close(C, (A @ B).astype(np.float64), f"matmul_naive of {np.dtype(dtype)} inputs")


@pytest.mark.rule("matmul.all.float-dtype-kept")
def test_matmul_naive_keeps_float32(impl) -> None:
    A, B = random_operands(np.random.default_rng(4), 3, 5, 4, np.float32)
    C = impl.matmul_naive(A, B)
    assert_dtype(C, np.float32, "matmul_naive of float32 inputs")
    expected = (A.astype(np.float64) @ B.astype(np.float64)).astype(np.float32)
    assert_close(C, expected, "matmul_naive of float32 inputs", atol=1e-5)


@pytest.mark.rule("matmul.all.inputs-unchanged")
def test_matmul_naive_leaves_its_inputs_alone(impl) -> None:
    A, B = random_operands(np.random.default_rng(5), 3, 4, 2, np.float64)
    A_before, B_before = A.copy(), B.copy()
    impl.matmul_naive(A, B)
    assert_equal(A, A_before, "A after matmul_naive(A, B)", hint="inputs must not be modified")
    assert_equal(B, B_before, "B after matmul_naive(A, B)", hint="inputs must not be modified")


@pytest.mark.parametrize(("n", "k", "m"), [(3, 5, 7), (7, 5, 3), (1, 64, 2), (128, 1, 9)], ids=str)
@pytest.mark.rule("matmul.matmul_flops.formula")
def test_matmul_flops_matches_reference(impl, ref, n, k, m) -> None:
    assert_equal(impl.matmul_flops(n, k, m), ref.matmul_flops(n, k, m),
                 f"matmul_flops({n}, {k}, {m})", hint="2*n*k*m, for an (n, k) @ (k, m) product")


@pytest.mark.weight(4)
@pytest.mark.rule("matmul.time_it.region")
def test_time_it_times_each_call_with_its_sync(impl) -> None:
    device = FakeAsyncDevice(WARMUP_WORK_S + TIMED_WORK_S)
    timing = impl.time_it(device.launch, warmup=len(WARMUP_WORK_S), repeats=len(TIMED_WORK_S),
                          sync=device.synchronize)
    times_s = np.asarray(timing["times_s"], dtype=float)
    if times_s.shape != (len(TIMED_WORK_S),):
        fail(f"time_it returned {times_s.size} times for {len(TIMED_WORK_S)} repeats "
             f"(and {len(WARMUP_WORK_S)} warmups); time only the repeats")
    for i, (took, work) in enumerate(zip(times_s, TIMED_WORK_S, strict=True)):
        if took < 0.9 * work:
            fail(
                f"time_it: timed call {i} took {took * 1e3:.2f} ms on a device where its work "
                f"takes {work * 1e3:.2f} ms (times {np.round(times_s * 1e3, 2).tolist()} ms); "
                "each region must run from before fn() to after the sync() that follows it"
            )


@pytest.mark.weight(2)
@pytest.mark.rule("matmul.time_it.result")
def test_time_it_reports_the_median_of_uneven_times(impl) -> None:
    device = FakeAsyncDevice(TIMED_WORK_S)
    timing = impl.time_it(device.launch, warmup=0, repeats=len(TIMED_WORK_S),
                          sync=device.synchronize)
    times_s = list(timing["times_s"])
    assert_close(
        timing["median_s"], statistics.median(times_s), "time_it(...)['median_s']", rtol=1e-12,
        hint=lambda got, _: "that is the mean: a median ignores the occasional slow run"
        if np.isclose(got, np.mean(times_s), rtol=1e-9, atol=0) else None,
    )
    assert_close(timing["min_s"], min(times_s), "time_it(...)['min_s']", rtol=1e-12)


@pytest.mark.rule("matmul.time_it.result")
def test_time_it_even_repeats_median_lies_between_the_middle_times(impl) -> None:
    device = FakeAsyncDevice(TIMED_WORK_S[:4])
    timing = impl.time_it(device.launch, warmup=0, repeats=4, sync=device.synchronize)
    middle = sorted(timing["times_s"])[1:3]
    if not middle[0] <= timing["median_s"] <= middle[1]:
        fail(f"time_it median_s = {timing['median_s']:.6f} s lies outside the two middle times "
             f"{middle} of four repeats")


@pytest.mark.rule("matmul.time_it.region")
def test_time_it_without_sync_times_fn_itself(impl) -> None:
    def work() -> None:
        time.sleep(0.002)

    timing = impl.time_it(work, warmup=1, repeats=2)
    if min(timing["times_s"]) < 0.0018:
        fail(f"time_it(fn) without sync gave times {timing['times_s']} for an fn of 2 ms; "
             "time each call of fn")


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.rule("matmul.benchmark_matmul.result")
def test_benchmark_matmul_accepts_each_dtype(impl, dtype) -> None:
    result = impl.benchmark_matmul(16, "cpu", dtype, warmup=1, repeats=2)
    assert_equal(result["dtype"], dtype, f"benchmark_matmul(16, 'cpu', {dtype!r})['dtype']")
    assert_close(
        result["tflops"], 2 * 16**3 / result["median_s"] / 1e12,
        f"benchmark_matmul(16, 'cpu', {dtype!r})['tflops']", rtol=1e-9,
        hint=lambda got, want: "off by a factor of 2: a matmul does 2*n**3 FLOPs"
        if np.isclose(got * 2, want, rtol=1e-6) else "tflops = 2 * n**3 / median_s / 1e12",
    )


@pytest.mark.parametrize("n", [1, 33, 100], ids=str)
@pytest.mark.rule("matmul.benchmark_matmul.result")
def test_benchmark_matmul_reports_n_and_a_plausible_time(impl, n) -> None:
    result = impl.benchmark_matmul(n, warmup=1, repeats=3)
    assert_equal((result["n"], result["device"]), (n, "cpu"),
                 f"benchmark_matmul({n})[n, device] (device defaults to 'cpu')")
    if not 0 < result["tflops"] < 100:
        fail(f"benchmark_matmul({n}) reports {result['tflops']:.3g} TFLOP/s on a CPU: "
             "check the units (seconds, 1e12) and that the product is what is timed")
