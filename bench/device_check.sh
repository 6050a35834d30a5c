#!/usr/bin/env bash
# One-call GPU check (a lent H100/H200 with PyTorch + transformers, no network), on the embedded default model:
#   1. the tests that touch CUDA (the model on CUDA, tiers, quantisation, export);
#   2. `vila-stream eval` on the 500-clip synthetic suite as the edge tier runs it (CPU, int8 LLM) and as the
#      cloud tier runs it (CUDA bfloat16, 8 frames);
#   3. `vila-stream analyze` on the edge and cloud tiers over one generated 60 s clip, batch 1 and 8.
# Packages the machine lacks travel as wheels in .whl/ (see docs/benchmarks.md). Writes under $OUT:
# table.md (the figures), tests.log, eval-edge.json, eval-cloud.json.
set -uo pipefail
OUT=${OUT:-/tmp/vila-device}
CLIPS=${CLIPS:-500}  # clips of the evaluation suite
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || exit 1
export PYTHONPATH=/tmp/site:$PWD:$PWD/protos VILA_STREAM_HOME=/tmp/vila-home PYTHONUNBUFFERED=1
cli() { python3 -m services.cli.main "$@"; }
gpu=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader)
versions=$(python3 -c "import sys, torch, transformers, av, torchao; print('Python', sys.version.split()[0], \
'torch', torch.__version__, 'transformers', transformers.__version__, 'PyAV', av.__version__, 'torchao', \
torchao.__version__)")
echo "$gpu; $(nproc) CPU cores; $versions" | tee "$OUT/table.md"

timeout 300 python3 -m pytest -q -p no:cacheprovider -rs tests/workers/runtime/test_cuda.py \
  tests/workers/runtime/test_loader.py tests/workers/quantize tests/workers/test_tiers.py tests/workers/export \
  tests/workers/server/test_settings.py tests/bench/test_model_bench.py > "$OUT/tests.log" 2>&1
echo "tests: $(tail -1 "$OUT/tests.log")" | tee -a "$OUT/table.md"

printf '\n| tier | single | two-object | action top-1 | exact caption | QA | still said moving | seconds |\n' \
  >> "$OUT/table.md"
printf '|---|---|---|---|---|---|---|---|\n' >> "$OUT/table.md"
for tier in edge cloud; do
  cli eval --suite synthetic --clips "$CLIPS" --tier $tier --threads "$(nproc)" --json > "$OUT/eval-$tier.json" \
    || continue
  python3 - "$OUT/eval-$tier.json" >> "$OUT/table.md" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"| {r['tier']} ({r['quantization']}) | {r['single_all_correct']} | {r['two_all_correct']} | {r['action_top1']} "
      f"| {r['caption_exact_match']} | {r['qa_accuracy']} | {r['no_motion_clips_said_moving']} | {r['seconds']} |")
PY
done

python3 - /tmp/clip.mp4 <<'PY'
import sys
from pathlib import Path
from services.demo.clip import write_demo_clip
write_demo_clip(Path(sys.argv[1]), seconds=60.0, fps=10)
PY
printf '\n| tier | device | batch | windows | wall s | windows/s |\n|---|---|---|---|---|---|\n' >> "$OUT/table.md"
for tier in edge cloud; do
  for batch in 1 8; do
    start=$(date +%s.%N)
    cli analyze /tmp/clip.mp4 --tier $tier --window-seconds 1 --batch-size $batch --quiet \
      --json "/tmp/$tier-$batch.json" > "/tmp/$tier-$batch.log" 2>&1 || { tail -5 "/tmp/$tier-$batch.log"; continue; }
    end=$(date +%s.%N)
    python3 - "/tmp/$tier-$batch.json" "$tier" "$batch" "$start" "$end" >> "$OUT/table.md" <<'PY'
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
