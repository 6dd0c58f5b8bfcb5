#!/usr/bin/env bash
# One lent-GPU session, run in the repo root on the device machine (the `device` tool's `run`, carrying
# `device` = scripts/gpu/pack_fonts.py's fonts + wheels in device/whl, and
# `.cache/recognizer/eval_auto_1000.npz` = the held-out crops of bench_recognizer.py):
#   1. GPU benchmarks of the shipped detector (pages/s) and recognizer (crops/s, per precision);
#   2. scripts/gpu/train_gpu.py for MINUTES (first argument, default 6; 0 = benchmarks only) on both models;
#      any further arguments go to train_gpu.py (e.g. `--models rec --rec-workers 14 --page-p 0.3`).
# DET_BATCHES (default "1 8 32") names the detector's benchmark batches, REC_PRECISIONS (default
# "fp16 bf16 fp32") the recognizer's ("" skips either).
# Everything it writes lands in $OUT: bench.txt, det.pt/rec.pt, det.jsonl/rec.jsonl, det.log/rec.log.
# The wheels, fetched here for the GPU machine's Python 3.12:
#   .venv/bin/python -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d device/whl faker==40.63.0 rapidfuzz==3.14.6
#   (and pyspellchecker==0.9.1, pure Python, for the reread's English words if a run reads with --reread)
set -u
MINUTES=${1:-6}
shift $(( $# > 0 ? 1 : 0 ))
OUT=${OUT:-/tmp/lakeocr-gpu}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site device/whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD LAKEOCR_FONT_DIRS=$PWD/device/fonts PYTHONUNBUFFERED=1
python3 -c "import torch, faker, rapidfuzz; print('torch', torch.__version__, torch.cuda.get_device_name(), 'cpus', __import__('os').cpu_count())"
{
  for b in ${DET_BATCHES-1 8 32}; do timeout 45 python3 bench/bench_detector.py --device cuda --batch "$b" --repeat 5; done
  for p in ${REC_PRECISIONS-fp16 bf16 fp32}; do
    timeout 45 python3 bench/bench_recognizer.py _speed_one --device cuda --precision "$p" --n 30000 \
      --batch-size 1024 --per-script 1000 --repeat 3
  done
} 2>&1 | grep -v Warning | tee "$OUT/bench.txt"
[ "$MINUTES" = 0 ] && exit 0
python3 scripts/gpu/train_gpu.py --out "$OUT" --minutes "$MINUTES" "$@"
tail -n 3 "$OUT"/*.log
