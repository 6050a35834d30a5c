#!/usr/bin/env bash
# One-call GPU check (a lent H100/H200 with PyTorch + transformers, no network):
# the CUDA model tests, then `vila-stream analyze` on the edge (CPU float32, int8 LLM) and
# cloud (CUDA bf16) tiers over the same generated clip, with a timing table.
# PyAV travels as a wheel in .whl/ (see docs/benchmarks.md). Writes under $OUT.
set -euo pipefail
OUT=${OUT:-/tmp/vila-device}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD VILA_STREAM_HOME=$OUT/home
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import sys, torch, transformers, av; print('python', sys.version.split()[0], 'torch', torch.__version__, 'transformers', transformers.__version__, 'av', av.__version__)"
python3 -m pytest -q -p no:cacheprovider tests/workers 2>&1 | tail -3
python3 - "$OUT/clip.mp4" <<'PY'
import sys
from pathlib import Path
from services.demo.clip import write_demo_clip
write_demo_clip(Path(sys.argv[1]), seconds=60.0, fps=10)
PY
printf '| tier | device | batch | windows | wall s | windows/s |\n|---|---|---|---|---|---|\n' > "$OUT/table.md"
for tier in edge cloud; do
  for batch in 1 8; do
    start=$(date +%s.%N)
    python3 -m services.cli.main analyze "$OUT/clip.mp4" --tier $tier --window-seconds 1 --batch-size $batch \
      --quiet --json "$OUT/$tier-$batch.json" > "$OUT/$tier-$batch.log"
    end=$(date +%s.%N)
    python3 - "$OUT/$tier-$batch.json" "$tier" "$batch" "$start" "$end" >> "$OUT/table.md" <<'PY'
import json, sys
from workers.tiers import get_tier
d = json.load(open(sys.argv[1])); tier = get_tier(sys.argv[2]); wall = float(sys.argv[5]) - float(sys.argv[4])
n = len(d["windows"])
quant = "" if tier.quantization == "none" else f" {tier.quantization}"
print(f"| {tier.name} | {tier.device} {tier.dtype}{quant} | {sys.argv[3]} | {n} | {wall:.1f} | {n / wall:.1f} |")
PY
  done
done
cat "$OUT/table.md"
