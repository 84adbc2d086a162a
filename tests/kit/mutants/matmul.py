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
]
