#!/usr/bin/env bash
# On a CUDA machine: the `cuda` tests, then the GPU benchmark; every log and the benchmark's JSON
# land in OUT (default: gpu_checks/). Each part has its own time limit, so one hanging part still
# leaves the other's result.
#     bash benchmarks/gpu_checks.sh [OUT]
set -u
out=${1:-gpu_checks}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$out/gpu.csv" 2>&1
python3 -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__, torch.cuda.get_device_name())" | tee "$out/versions.txt"
# addopts is emptied because the notebook plugin (--nbmake) is a dev extra the GPU machine may lack.
timeout 100 python3 -m pytest -o addopts="" -p no:cacheprovider -p no:logging -m cuda -ra --durations=10 tests/test_cuda.py 2>&1 | tee "$out/pytest_cuda.log"
timeout 240 python3 benchmarks/gpu.py >"$out/gpu.json" 2>"$out/gpu.err"
echo "benchmark exit $?"; cat "$out/gpu.json"; tail -20 "$out/gpu.err"
