#!/usr/bin/env bash
# The GPU figures in one go (~5 min on an H100/H200): a real run's NVML record (issue 6), the trainer
# against a minimal loop on the GPU, and packing 1/2/4 trials on one card. Results go to $OUT (default
# benchmarks/results). Packages the GPU image lacks may be carried as wheels in .whl/ (see BENCHMARKS.md).
set -u
OUT=${OUT:-benchmarks/results}
mkdir -p "$OUT"
if [ -d .whl ]; then
  python3 -c "import pyarrow, sys; sys.exit(int(pyarrow.__version__.split('.')[0]) < 24)" 2>/dev/null && rm -f .whl/pyarrow-*
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python3 -c "import torch, transformers, datasets, pydantic, pynvml, clsweep.cli; print('torch', torch.__version__, 'transformers', transformers.__version__, 'datasets', datasets.__version__, torch.cuda.get_device_name(0))" || exit 1
echo "== 1. one run on the GPU (search_spaces/ewc.yaml, bf16)"
python3 -m clsweep train search_spaces/ewc.yaml --out /tmp/gpu_run --quiet --set train.device=cuda \
  --set train.precision=bf16 --set observe.gpu_interval_s=0.2 2>&1 | tail -5
cp /tmp/gpu_run/result.json "$OUT/gpu_run_result.json"; tar czf "$OUT/gpu_run.tgz" -C /tmp gpu_run
echo "== 2. trainer vs a minimal loop on the GPU"
[ -n "${SKIP_TRAINER:-}" ] || python3 benchmarks/bench_trainer.py --device cuda --threads 4 --repeats 3 --out "$OUT/trainer_cuda.json" 2>&1 | tail -6
echo "== 3. packing 1, 2, 4 trials on one GPU"
python3 benchmarks/bench_gpu_packing.py --out "$OUT/gpu_packing.json" --keep /tmp/packing 2>&1 | tail -9
tar czf "$OUT/packing_results.tgz" -C /tmp packing
