#!/usr/bin/env bash
# The torch path's GPU checks in one short run, for a machine with a CUDA device:
# the CUDA-vs-CPU tests, then the benchmark's CUDA column (original code and torch-CPU
# timings left out: they are measured on the CPU machine). Writes under ${OUT:-/tmp}.
# Usage (repository root, after `make install`): bash benchmarks/cuda_check.sh
set -euo pipefail
out="${OUT:-/tmp}"
.venv/bin/python -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name(0))"
.venv/bin/python -m pytest -q -p no:cacheprovider tests/corruptions/test_batched_cuda.py 2>&1 | tee "$out/cuda_tests.txt"
.venv/bin/python benchmarks/corruptions.py --images 2 --repeats 3 --no-original --no-torch-cpu \
    --out "$out/corruptions_cuda.csv" 2>&1 | tee "$out/corruptions_cuda.txt"
