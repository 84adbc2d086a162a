"""The matmul reference is right by other witnesses: NumPy and PyTorch products, a fake
asynchronous device for time_it, and torch itself for benchmark_matmul on the CPU."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from grader.kit import kit_root
from solutions import matmul as ref

dims = st.integers(min_value=1, max_value=6)


@settings(max_examples=40, deadline=None)
@given(n=dims, k=dims, m=dims, seed=st.integers(0, 2**32 - 1))
def test_matmul_naive_agrees_with_numpy_and_torch(n: int, k: int, m: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((n, k)), rng.standard_normal((k, m))
    C = ref.matmul_naive(A, B)
    np.testing.assert_allclose(C, A @ B, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(C, torch.from_numpy(A) @ torch.from_numpy(B), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("dtype", "out"),
    [(np.int64, np.float64), (np.int8, np.float64), (np.float32, np.float32),
     (np.float16, np.float16), (np.float64, np.float64)],
)
def test_matmul_naive_dtypes(dtype, out) -> None:
    A = np.arange(6).reshape(2, 3).astype(dtype)
    B = np.arange(12).reshape(3, 4).astype(dtype)
    C = ref.matmul_naive(A, B)
    assert C.dtype == out
    np.testing.assert_array_equal(C, A.astype(np.float64) @ B.astype(np.float64))


@pytest.mark.parametrize(("a", "b"), [((2, 3), (2, 3)), ((3,), (3, 1)), ((1, 2, 2), (2, 2))])
def test_matmul_naive_refuses_bad_shapes(a, b) -> None:
    with pytest.raises(ValueError, match="shapes"):
        ref.matmul_naive(np.ones(a), np.ones(b))


def test_matmul_naive_loops_by_itself() -> None:
    """No @, dot, einsum or matmul in the naive product: its point is the interpreter's cost."""
    tree = ast.parse(inspect.getsource(ref.matmul_naive))
    for node in ast.walk(tree):
        assert not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult))
        assert not (isinstance(node, ast.Attribute) and node.attr in {"dot", "einsum", "matmul"})


@pytest.mark.parametrize(("n", "k", "m"), [(2, 3, 4), (7, 1, 5), (1, 9, 1)])
def test_matmul_flops_agrees_with_torch_flop_counter(n: int, k: int, m: int) -> None:
    with FlopCounterMode(display=False) as counter:
        torch.ones(n, k) @ torch.ones(k, m)
    assert ref.matmul_flops(n, k, m) == counter.get_total_flops()


class FakeAsyncDevice:
    """`launch` queues `work_s` and returns; `synchronize` does the queued work (sleeps)."""

    def __init__(self, work_s: float) -> None:
        self.work_s, self.queued_s, self.log = work_s, 0.0, []

    def launch(self) -> None:
        self.log.append("fn")
        self.queued_s += self.work_s

    def synchronize(self) -> None:
        self.log.append("sync")
        time.sleep(self.queued_s)
        self.queued_s = 0.0


def test_time_it_waits_for_the_device_in_every_timed_call() -> None:
    device = FakeAsyncDevice(0.002)
    timing = ref.time_it(device.launch, warmup=2, repeats=3, sync=device.synchronize)
    assert device.log == ["fn", "sync"] * 5
    assert len(timing["times_s"]) == 3
    assert all(t >= 0.002 for t in timing["times_s"])
    assert timing["min_s"] == min(timing["times_s"])
    assert timing["median_s"] == sorted(timing["times_s"])[1]


def test_time_it_without_sync_times_fn_alone() -> None:
    calls = []
    timing = ref.time_it(lambda: calls.append(time.sleep(0.001)), warmup=1, repeats=2)
    assert len(calls) == 3
    assert all(t >= 0.001 for t in timing["times_s"])


def test_import_does_not_import_torch() -> None:
    """torch takes seconds to import; the grader imports exercise modules often."""
    probe = "import sys, solutions.matmul; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], cwd=kit_root()).returncode == 0


@pytest.mark.parametrize("dtype", ref.DTYPES)
def test_benchmark_matmul_times_a_torch_product_with_time_it(dtype, monkeypatch) -> None:
    seen = {}

    def fake_time_it(fn, warmup, repeats, sync):
        seen.update(product=fn(), warmup=warmup, repeats=repeats, sync=sync)
        return {"median_s": 0.5, "min_s": 0.25, "times_s": [0.25, 0.5, 0.75]}

    monkeypatch.setattr(ref, "time_it", fake_time_it)
    result = ref.benchmark_matmul(8, "cpu", dtype, warmup=2, repeats=3)
    assert result == {"n": 8, "device": "cpu", "dtype": dtype, "median_s": 0.5,
                      "tflops": 2 * 8**3 / 0.5 / 1e12}
    assert seen["product"].shape == (8, 8) and seen["product"].dtype == getattr(torch, dtype)
    assert (seen["warmup"], seen["repeats"], seen["sync"]) == (2, 3, None)


def test_benchmark_matmul_on_cpu_really_times() -> None:
    result = ref.benchmark_matmul(64, warmup=1, repeats=3)
    assert result["median_s"] > 0
    assert result["tflops"] == pytest.approx(2 * 64**3 / result["median_s"] / 1e12)


def test_benchmark_matmul_leaves_tf32_settings_alone() -> None:
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
              torch.get_float32_matmul_precision())
    ref.benchmark_matmul(16, warmup=0, repeats=1)
    after = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
             torch.get_float32_matmul_precision())
    assert before == after


@pytest.mark.parametrize(("device", "dtype"), [("tpu", "float32"), ("cpu", "int32")])
def test_benchmark_matmul_refuses_unknown_names(device, dtype) -> None:
    with pytest.raises(ValueError, match="unknown"):
        ref.benchmark_matmul(8, device, dtype)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_benchmark_matmul_cuda_without_gpu_says_so() -> None:
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        ref.benchmark_matmul(8, "cuda")
