"""Buggy variants of solutions/matmul.py: mistakes students make when timing and counting."""

MUTANTS = [
    {
        "name": "sync-outside-timed-region",
        "old": "        fn()\n        finish()\n"
        "        times_s.append(time.perf_counter() - start)",
        "new": "        fn()\n        times_s.append(time.perf_counter() - start)\n"
        "        finish()",
        "why": "stops the clock before the device has done the work: times the launch only",
    },
    {
        "name": "sync-skipped-in-timed-calls",
        "old": "        finish()\n        times_s.append(",
        "new": "        times_s.append(",
        "why": "never waits for the device in the timed calls",
    },
    {
        "name": "sync-once-at-the-end",
        "old": "        finish()\n        times_s.append(time.perf_counter() - start)\n",
        "new": "        times_s.append(time.perf_counter() - start)\n    finish()\n",
        "why": "one sync after the loop: every call but the last is timed while still queued",
    },
    {
        "name": "sync-before-fn",
        "old": "        start = time.perf_counter()\n        fn()\n        finish()\n",
        "new": "        start = time.perf_counter()\n        finish()\n        fn()\n",
        "why": "waits for the previous call's work, so each time belongs to the call before",
    },
    {
        "name": "warmup-timed",
        "old": "    for _ in range(repeats):",
        "new": "    for _ in range(warmup + repeats):",
        "why": "warmup calls (and their one-off costs) end up in times_s",
    },
    {
        "name": "warmup-skipped",
        "old": "    for _ in range(warmup):",
        "new": "    for _ in range(0):",
        "why": "no warmup: the first timed call pays allocation and setup",
    },
    {
        "name": "mean-instead-of-median",
        "old": '"median_s": statistics.median(times_s)',
        "new": '"median_s": statistics.mean(times_s)',
        "why": "the mean is pulled up by the occasional slow run",
    },
    {
        "name": "flops-without-factor-2",
        "old": "    return 2 * n * k * m",
        "new": "    return n * k * m",
        "why": "counts multiply-adds, not FLOPs: a multiply-add is two operations",
    },
    {
        "name": "naive-index-transposed",
        "old": "total += a[i][p] * b[p][j]",
        "new": "total += a[i][p] * b[j][p]",
        "why": "reads B[j, p] for B[p, j]: the product with B transposed",
    },
    {
        "name": "naive-inner-loop-short",
        "old": "for p in range(k):",
        "new": "for p in range(k - 1):",
        "why": "off by one: drops the last term of each dot product",
    },
    {
        "name": "naive-no-shape-check",
        "old": "    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:",
        "new": "    if A.ndim != 2 or B.ndim != 2:",
        "why": "multiplies shapes that do not chain instead of refusing them",
    },
    {
        "name": "naive-integer-dtype-kept",
        "old": "        dtype = np.dtype(np.float64)",
        "new": "        dtype = np.dtype(np.int64)",
        "why": "integer inputs must give float64",
    },
    {
        "name": "tflops-in-gflops",
        "old": "\n    tflops = matmul_flops(n, n, n) / median_s / 1e12",
        "new": "\n    tflops = matmul_flops(n, n, n) / median_s / 1e9",
        "why": "wrong unit: GFLOP/s reported as TFLOP/s",
    },
    {
        "name": "dtype-not-checked",
        "old": "    if dtype not in DTYPES:\n",
        "new": "    if False:\n",
        "why": "passes any name to getattr(torch, dtype): int32 or float8 fail with another error",
    },
    {
        "name": "operands-made-inside-timed-region",
        "old": "    median_s = time_it(lambda: A @ B,",
        "new": (
            "    median_s = time_it(lambda: torch.randn(n, n, dtype=A.dtype, device=device)"
            " @ torch.randn(n, n, dtype=B.dtype, device=device),"
        ),
        "why": "makes random operands inside the timed function: their creation is timed too",
    },
    {
        "name": "operands-from-numpy-inside-timed-region",
        "old": "    median_s = time_it(lambda: A @ B,",
        "new": (
            "    median_s = time_it(lambda: torch.from_numpy(np.random.standard_normal((n, n)))"
            ".to(A.dtype) @ B,"
        ),
        "why": "converts a fresh NumPy array inside the timed function",
    },
    {
        "name": "sets-tf32",
        "old": "    sync = torch.cuda.synchronize if device == \"cuda\" else None\n",
        "new": (
            "    torch.set_float32_matmul_precision(\"high\")\n"
            "    sync = torch.cuda.synchronize if device == \"cuda\" else None\n"
        ),
        "why": "turns TF32 on, where the contract leaves torch's settings as they are",
    },
    {
        "name": "unknown-device-runs-on-cpu",
        "old": "    if device not in DEVICES:\n",
        "new": "    if False:\n",
        "why": "an unknown device is not refused (torch then fails with its own error)",
    },
    {
        "name": "cuda-without-gpu-not-checked",
        "old": "    if device == \"cuda\" and not torch.cuda.is_available():\n",
        "new": "    if False:\n",
        "why": (
            "asks torch for a CUDA tensor without chec"
            "king: torch's own error, not one saying so"
        ),
    },
    {
        "name": "imports-another-exercise",
        "old": "from numpy.typing import ArrayLike\n",
        "new": (
            "from numpy.typing import ArrayLike\n\nfro"
            "m .activations import relu  # noqa: F401\n"
        ),
        "why": "matmul imports activations, where it stands alone",
    },
]
