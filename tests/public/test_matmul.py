"""Public tests of the matmul exercise: small products, FLOP counts, and timing done right.

Run them on your work with `pytest tests/public/test_matmul.py`.

`time_it` is tested on a fake asynchronous device: its `launch` only queues work and returns at
once, as a CUDA kernel launch does, and the work happens in `synchronize`, as
torch.cuda.synchronize waits for the GPU. A `time_it` that stops the clock before the sync
returns measures almost nothing, and fails. The tests marked `gpu` run only where torch sees a
CUDA GPU, and are worth no points.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest

from grader.suites.checks import (
    assert_close,
    assert_equal,
    check_imports_no_later_exercise,
    expect_value_error,
    fail,
)
from grader.suites.plugin import cuda_present

WORK_S = 0.004  # what each timed launch of the fake device costs; small, so the suite stays fast
TIMING_KEYS = {"median_s", "min_s", "times_s"}
BENCHMARK_KEYS = {"n", "device", "dtype", "median_s", "tflops"}


class FakeAsyncDevice:
    """A stand-in for a GPU whose work completes only when it is synchronised.

    `durations_s[i]` is the work of the i-th launch (launches past the list do none). `log` keeps
    the calls in order, "fn" for a launch and "sync" for a synchronisation.
    """

    def __init__(self, durations_s: list[float]) -> None:
        self.durations_s = durations_s
        self.queued_s: list[float] = []
        self.log: list[str] = []

    def launch(self) -> None:
        index = self.log.count("fn")
        self.log.append("fn")
        self.queued_s.append(self.durations_s[index] if index < len(self.durations_s) else 0.0)

    def synchronize(self) -> None:
        self.log.append("sync")
        time.sleep(sum(self.queued_s))
        self.queued_s.clear()


def async_timing_hint(times_s: np.ndarray, work_s: np.ndarray) -> str:
    if np.all(times_s < 0.5 * work_s):
        return (
            "the times are near zero: fn only queues work, which is done when sync() returns; "
            "stop the clock after sync(), inside each timed region"
        )
    return "each timed region must span one fn() and the sync() after it"


def check_times_cover_work(timing: dict, work_s: list[float], what: str) -> None:
    """Each timed call must last at least the work it launched (sleeps never end early)."""
    __tracebackhide__ = True
    times_s = np.asarray(timing["times_s"], dtype=float)
    expected = np.asarray(work_s)
    if times_s.shape != expected.shape:
        fail(f"{what}: times_s has {times_s.size} times, expected one per timed call "
             f"({expected.size}); warmup calls are not timed")
    short = times_s < 0.9 * expected
    if short.any():
        i = int(np.argmax(short))
        fail(
            f"{what}: timed call {i} took {times_s[i] * 1e3:.2f} ms, but its work takes "
            f"{expected[i] * 1e3:.2f} ms; {async_timing_hint(times_s, expected)}"
        )


# matmul_naive: products worked out by hand.


@pytest.mark.weight(2)
@pytest.mark.parametrize(
    ("A", "B", "C"),
    [
        ([[1, 2], [3, 4]], [[5, 6], [7, 8]], [[19, 22], [43, 50]]),
        ([[1, 2, 3]], [[4], [5], [6]], [[32]]),
        ([[1], [2], [3]], [[4, 5]], [[4, 5], [8, 10], [12, 15]]),
        ([[1, 0, 2], [0, 1, -1]], [[1, 2], [3, 4], [5, 6]], [[11, 14], [-2, -2]]),
    ],
    ids=["2x2@2x2", "1x3@3x1", "3x1@1x2", "2x3@3x2"],
)
@pytest.mark.rule("matmul.matmul_naive.product")
def test_matmul_naive_small_products(impl, A, B, C) -> None:
    A, B = np.array(A, dtype=float), np.array(B, dtype=float)
    expected = np.array(C, dtype=float)
    assert_close(
        impl.matmul_naive(A, B), expected, f"matmul_naive of shapes {A.shape} and {B.shape}",
        hint="C[i, j] = sum over p of A[i, p] * B[p, j]: check the index each loop runs over",
    )


@pytest.mark.rule("matmul.matmul_naive.product")
def test_matmul_naive_identity(impl) -> None:
    A = np.arange(12.0).reshape(3, 4)
    assert_close(impl.matmul_naive(A, np.eye(4)), A, "matmul_naive(A, I)")
    assert_close(impl.matmul_naive(np.eye(3), A), A, "matmul_naive(I, A)")


@pytest.mark.parametrize(
    ("shape_a", "shape_b"), [((2, 3), (2, 3)), ((1, 4), (3, 1)), ((3, 2), (3, 2))],
    ids=["2x3@2x3", "1x4@3x1", "3x2@3x2"],
)
@pytest.mark.rule("matmul.matmul_naive.shapes-chain")
def test_matmul_naive_refuses_shapes_that_do_not_chain(impl, shape_a, shape_b) -> None:
    with expect_value_error(
        f"matmul_naive with shapes {shape_a} and {shape_b}",
        "A's columns must equal B's rows; a loop may otherwise read past or stop short",
    ):
        impl.matmul_naive(np.ones(shape_a), np.ones(shape_b))


# matmul_flops


@pytest.mark.parametrize(
    ("n", "k", "m", "flops"),
    [(1, 1, 1, 2), (2, 3, 4, 48), (5, 7, 1, 70), (4096, 4096, 4096, 137_438_953_472)],
    ids=["1x1x1", "2x3x4", "5x7x1", "4096-cubed"],
)
@pytest.mark.rule("matmul.matmul_flops.formula")
def test_matmul_flops_values(impl, n, k, m, flops) -> None:
    assert_equal(
        impl.matmul_flops(n, k, m), flops, f"matmul_flops({n}, {k}, {m})",
        hint="each of the n*m outputs takes k multiplications and k additions: 2*n*k*m",
    )


# time_it


@pytest.mark.rule("matmul.time_it.result")
def test_time_it_returns_its_keys_and_one_time_per_repeat(impl) -> None:
    timing = impl.time_it(lambda: None, warmup=2, repeats=5)
    if not set(timing) >= TIMING_KEYS:
        fail(f"time_it returned keys {sorted(timing)}, expected {sorted(TIMING_KEYS)}")
    assert_equal(len(timing["times_s"]), 5, "len(time_it(fn, warmup=2, repeats=5)['times_s'])",
                 hint="one time per timed call; warmup calls are not timed")


@pytest.mark.parametrize(("warmup", "repeats"), [(3, 10), (0, 4), (2, 1)], ids=str)
@pytest.mark.rule("matmul.time_it.calls")
def test_time_it_calls_fn_warmup_plus_repeats_times(impl, warmup, repeats) -> None:
    calls = []
    timing = impl.time_it(lambda: calls.append(1), warmup=warmup, repeats=repeats)
    assert_equal(len(calls), warmup + repeats, f"calls of fn by time_it(warmup={warmup}, "
                 f"repeats={repeats})", hint="warmup calls, then the timed ones")
    assert_equal(len(timing["times_s"]), repeats, "number of times in times_s")


@pytest.mark.rule("matmul.time_it.calls")
def test_time_it_defaults_are_3_warmup_and_10_repeats(impl) -> None:
    calls = []
    timing = impl.time_it(lambda: calls.append(1))
    assert_equal(len(calls), 13, "calls of fn by time_it(fn)", hint="defaults warmup=3, repeats=10")
    assert_equal(len(timing["times_s"]), 10, "number of times in time_it(fn)['times_s']")


@pytest.mark.rule("matmul.time_it.result")
def test_time_it_median_and_min_agree_with_times(impl) -> None:
    timing = impl.time_it(lambda: time.sleep(0.0005), warmup=1, repeats=5)
    times_s = list(timing["times_s"])
    assert_close(timing["min_s"], min(times_s), "time_it(...)['min_s']", rtol=1e-12)
    assert_close(
        timing["median_s"], statistics.median(times_s), "time_it(...)['median_s']", rtol=1e-12,
        hint=lambda got, _: "that is the mean: use the median, which ignores the odd slow run"
        if np.isclose(got, np.mean(times_s), rtol=1e-9, atol=0) else None,
    )


@pytest.mark.weight(3)
@pytest.mark.rule("matmul.time_it.region")
def test_time_it_waits_for_the_fake_asynchronous_device(impl) -> None:
    device = FakeAsyncDevice([0.0] + [WORK_S] * 3)  # one warmup launch, then three of WORK_S
    timing = impl.time_it(device.launch, warmup=1, repeats=3, sync=device.synchronize)
    check_times_cover_work(timing, [WORK_S] * 3, "time_it on an asynchronous device")


@pytest.mark.weight(2)
@pytest.mark.rule("matmul.time_it.calls", "matmul.time_it.region")
def test_time_it_syncs_after_every_call(impl) -> None:
    device = FakeAsyncDevice([])
    impl.time_it(device.launch, warmup=2, repeats=3, sync=device.synchronize)
    launches = [i for i, call in enumerate(device.log) if call == "fn"]
    assert_equal(len(launches), 5, "launches by time_it(warmup=2, repeats=3)")
    unsynced = [i for i in launches if device.log[i + 1 : i + 2] != ["sync"]]
    if unsynced:
        fail(
            f"time_it called {' '.join(device.log)}: launch {launches.index(unsynced[0])} is "
            "not followed by sync(); call sync() after every fn(), warmup included"
        )


# benchmark_matmul on the CPU


@pytest.mark.weight(2)
@pytest.mark.rule("matmul.benchmark_matmul.result")
def test_benchmark_matmul_cpu_reports_its_keys_and_tflops(impl) -> None:
    result = impl.benchmark_matmul(48, "cpu", "float32", warmup=1, repeats=3)
    if not set(result) >= BENCHMARK_KEYS:
        fail(f"benchmark_matmul returned keys {sorted(result)}, expected {sorted(BENCHMARK_KEYS)}")
    assert_equal((result["n"], result["device"], result["dtype"]), (48, "cpu", "float32"),
                 "benchmark_matmul(48, 'cpu', 'float32')[n, device, dtype]")
    if not result["median_s"] > 0:
        fail(f"benchmark_matmul median_s is {result['median_s']}, expected a positive time")
    assert_close(
        result["tflops"], 2 * 48**3 / result["median_s"] / 1e12, "benchmark_matmul(48)['tflops']",
        rtol=1e-9, hint="tflops = matmul_flops(n, n, n) / median_s / 1e12",
    )


@pytest.mark.parametrize(
    ("device", "dtype"), [("tpu", "float32"), ("gpu", "float32"), ("cpu", "int32"),
                          ("cpu", "float8"), ("cpu", "torch.float32")],
    ids=["tpu", "gpu", "int32", "float8", "torch.float32"],
)
@pytest.mark.rule("matmul.benchmark_matmul.device-and-dtype")
def test_benchmark_matmul_refuses_unknown_device_or_dtype(impl, device, dtype) -> None:
    with expect_value_error(f"benchmark_matmul(8, {device!r}, {dtype!r})",
                            "devices are 'cpu' and 'cuda'; dtypes float32, float64, float16, "
                            "bfloat16"):
        impl.benchmark_matmul(8, device, dtype)


@pytest.mark.rule("matmul.benchmark_matmul.cuda-without-gpu")
def test_benchmark_matmul_cuda_runs_or_says_there_is_no_gpu(impl) -> None:
    # Runs on every machine, so that it is worth the same everywhere: with a GPU the benchmark
    # runs there; without one the call must say so.
    if cuda_present():
        result = impl.benchmark_matmul(64, "cuda", "float32", warmup=1, repeats=2)
        assert_equal((result["n"], result["device"]), (64, "cuda"),
                     "benchmark_matmul(64, 'cuda')[n, device] on a machine with a GPU")
        return
    try:
        impl.benchmark_matmul(8, "cuda")
    except NotImplementedError:  # a RuntimeError too, but a stub's: let it fail the test as is
        raise
    except RuntimeError as err:
        if "cuda" not in str(err).lower() and "gpu" not in str(err).lower():
            fail(f"benchmark_matmul(8, 'cuda') raised RuntimeError({str(err)!r}); "
                 "say that no CUDA GPU is present")
        return
    except Exception as err:
        fail(f"benchmark_matmul(8, 'cuda') without a GPU raised {type(err).__name__}: {err}; "
             "expected a RuntimeError saying no CUDA GPU is present")
    fail("benchmark_matmul(8, 'cuda') returned on a machine without a GPU; "
         "expected a RuntimeError saying so")


def tensors_made_by_benchmarks(module, settings: list) -> list:
    """For each (warmup, repeats) of `settings`, how many tensors benchmark_matmul(8) made.

    A scenario: it counts the calls of torch's tensor constructors (random or not, from NumPy
    too) and of the in-place random fills, wherever the submission reaches them (torch.randn,
    or a name it imported from torch). The count must not depend on how many calls are timed.
    """
    import torch

    constructors = ["randn", "rand", "randint", "randn_like", "rand_like", "randint_like",
                    "normal", "randperm", "empty", "empty_like", "zeros", "zeros_like", "ones",
                    "ones_like", "full", "full_like", "eye", "arange", "linspace", "tensor",
                    "as_tensor", "from_numpy"]
    fills = ["normal_", "uniform_", "random_", "clone"]
    made = [0]
    undo = []

    def counted(original):
        def constructor(*args, **kwargs):
            made[0] += 1
            return original(*args, **kwargs)

        return constructor

    def patch(owner, name, replacement):
        undo.append((owner, name, vars(owner).get(name), name in vars(owner)))
        setattr(owner, name, replacement)

    try:
        for name in constructors:
            original = getattr(torch, name, None)
            if original is None:
                continue
            replacement = counted(original)
            patch(torch, name, replacement)
            for global_name, value in list(vars(module).items()):
                if value is original:  # `from torch import randn`
                    patch(module, global_name, replacement)
        for name in fills:
            patch(torch.Tensor, name, counted(getattr(torch.Tensor, name)))
        counts = []
        for warmup, repeats in settings:
            made[0] = 0
            module.benchmark_matmul(8, "cpu", "float32", warmup=warmup, repeats=repeats)
            counts.append(made[0])
    finally:
        for owner, name, value, had in reversed(undo):
            if had:
                setattr(owner, name, value)
            else:
                delattr(owner, name)
    return counts


@pytest.mark.rule("matmul.benchmark_matmul.operands-before-timing")
@pytest.mark.weight(2)
def test_benchmark_matmul_makes_its_operands_before_timing(impl) -> None:
    # Counts, not seconds: the number of tensors made must not grow with the calls timed.
    settings = [(1, 2), (3, 9)]
    few, many = impl.run(tensors_made_by_benchmarks, settings)
    if many != few:
        fail(f"benchmark_matmul(8) made {few} tensors with warmup=1, repeats=2 but {many} with "
             "warmup=3, repeats=9: the timed function makes its operands anew at every call, so "
             "their creation is timed with the product; make A and B once, before time_it, and "
             "time only A @ B")


def tf32_settings_kept(module) -> list:
    """Whether benchmark_matmul left torch's TF32 settings as it found them, from two starts."""
    import torch

    def settings():
        return (torch.get_float32_matmul_precision(), bool(torch.backends.cudnn.allow_tf32))

    original = settings()
    kept = []
    try:
        for precision, cudnn_tf32 in [("highest", False), ("high", True)]:
            torch.set_float32_matmul_precision(precision)
            torch.backends.cudnn.allow_tf32 = cudnn_tf32
            module.benchmark_matmul(8, "cpu", "float32", warmup=1, repeats=1)
            kept.append([list(settings()), [precision, cudnn_tf32]])
    finally:
        torch.set_float32_matmul_precision(original[0])
        torch.backends.cudnn.allow_tf32 = original[1]
    return kept


@pytest.mark.rule("matmul.benchmark_matmul.tf32-untouched")
def test_benchmark_matmul_leaves_tf32_settings_alone(impl) -> None:
    for after, before in impl.run(tf32_settings_kept):
        if after != before:
            fail(f"benchmark_matmul changed torch's TF32 settings (float32 matmul precision, "
                 f"cudnn.allow_tf32) from {before} to {after}: it measures what the caller's "
                 "program would get, so leave them as they are")


# On a GPU: the benchmark agrees with CUDA's own clock.


def cuda_event_median_s(n: int, dtype_name: str, warmup: int, repeats: int) -> float:
    """Median time of an (n, n) @ (n, n) product measured by CUDA events, on the GPU's clock."""
    import torch

    dtype = getattr(torch, dtype_name)
    A = torch.randn(n, n, device="cuda", dtype=dtype)
    B = torch.randn(n, n, device="cuda", dtype=dtype)
    for _ in range(warmup):
        A @ B
    times_s = []
    for _ in range(repeats):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        A @ B
        end.record()
        end.synchronize()
        times_s.append(start.elapsed_time(end) / 1e3)  # elapsed_time is in milliseconds
    return statistics.median(times_s)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.rule("matmul.benchmark_matmul.synchronises-the-gpu")
def test_benchmark_matmul_cuda_agrees_with_cuda_events(impl, dtype) -> None:
    result = impl.benchmark_matmul(4096, "cuda", dtype, warmup=3, repeats=10)
    expected = cuda_event_median_s(4096, dtype, warmup=3, repeats=10)
    assert_close(
        result["median_s"], expected, f"benchmark_matmul(4096, 'cuda', {dtype!r})['median_s']",
        rtol=0.10, atol=0.0,
        hint=lambda got, want: "far too fast: synchronise the GPU inside each timed region"
        if got < 0.5 * want else None,
    )


# matmul stands alone.


@pytest.mark.rule("matmul.all.imports-no-later-exercise")
def test_works_without_the_other_exercises(impl) -> None:
    A, B = np.array([[1.0, 2.0]]), np.array([[3.0], [4.0]])
    got = check_imports_no_later_exercise(impl, "matmul", [("matmul_naive", (A, B))])
    assert_close(got, np.array([[11.0]]), "matmul_naive of matmul.py imported on its own")
