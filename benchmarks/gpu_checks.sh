#!/usr/bin/env bash
# The checks that need a GPU, in one run (a lent GPU machine's time is short): run from the
# repository root on a machine with an NVIDIA GPU, PyTorch with CUDA, and the kit's
# dependencies importable (PYTHONPATH or an install). Writes its log and figures to $OUT
# (default: ./gpu-checks) and the CUDA rows of the matmul table to docs/benchmarks.md.
set -uo pipefail
out="${OUT:-gpu-checks}"
mkdir -p "$out"
python="${PYTHON:-python3}"
step() { echo; echo "== $*"; }

step "the machine"
nvidia-smi -L
"$python" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda,
              'available', torch.cuda.is_available())"
env | grep -E '^(LD_LIBRARY_PATH|CUDA_VISIBLE_DEVICES|NVIDIA_)' || true
grep -E 'nvidia' /proc/self/mountinfo | head -5 || true

step "matmul suites in this process (the reference)"
"$python" -m pytest -q -p no:cacheprovider tests/public/test_matmul.py tests/hidden/test_matmul.py \
  --impl reference -rs 2>&1 | tail -5

step "grade doctor (the worker must see the GPU the grader sees)"
"$python" -m grader.cli doctor

step "matmul through grade (the sandbox)"
"$python" -m grader.cli --reference --exercise matmul -v --json "$out/matmul.json" | tail -20

step "grade --reference (must be 100.00 / 100.00 with a GPU too)"
"$python" -m grader.cli --reference --json "$out/reference.json" | tail -9

step "what the worker sees (submounts, the driver's variables)"
"$python" -m pytest -q -p no:cacheprovider tests/kit/test_worker_view.py 2>&1 | tail -5

step "the matmul benchmark"
"$python" -m benchmarks.matmul | tee "$out/matmul-benchmark.txt"
cp docs/benchmarks.md "$out/benchmarks.md"
