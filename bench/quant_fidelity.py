"""Output change of each quantisation mode against float32 on the tiny checkpoint (docs/quantization.md).

    python -m bench.quant_fidelity [--windows 12] [--new-tokens 16] [--seed 0]

Windows are ``scene_frames`` clips (4 frames each). Per mode: first-token and
caption token agreement, exact captions, max abs first-token logit difference,
best-label agreement over five of the worker's default action labels, whether a
batch of all windows answers like the windows one at a time, and LLM weight
bytes. bf16 without quantisation is included for scale.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

from bench.model_bench import machine, markdown
from services.demo.scenes import scene_frames
from workers.runtime import load_model, make_tiny
from workers.runtime.quantize import compare_outputs, model_weight_bytes, quantize_model
from core.labels import DEFAULT_ACTION_LABELS

MODES = ("int8-dynamic", "int8-dynamic-token", "int8", "bf16")
COLUMNS = ("mode", "first-token agreement", "token agreement", "exact", "max abs Δlogit (max logit)", "label top-1",
           "batch-independent", "LLM weight MB")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--windows", type=int, default=12)
    ap.add_argument("--new-tokens", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0, help="tiny checkpoint seed")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    labels = list(DEFAULT_ACTION_LABELS[:5])
    clips = [scene_frames(4, seed=s) for s in range(args.windows)]
    n, tokens = args.windows, args.new_tokens
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = make_tiny(Path(tmp) / "tiny", seed=args.seed)
        reference = load_model(path)
        best = [r[0].label for r in reference.score_labels(clips, labels)]
        for mode in MODES:
            model = load_model(path, dtype="bfloat16") if mode == "bf16" else quantize_model(load_model(path), mode)
            change = compare_outputs(reference, model, clips, max_new_tokens=tokens)
            top = sum(a == b[0].label for a, b in zip(best, model.score_labels(clips, labels)))
            batched = model.caption(clips, max_new_tokens=tokens)
            alone = [model.caption([c], max_new_tokens=tokens)[0] for c in clips]
            differ = sum(a != b for a, b in zip(batched, alone))
            rows.append([mode, f"{change.first_token_agreement:.3f}", f"{change.token_agreement:.3f}",
                         f"{change.exact_captions}/{n}", f"{change.max_logit_diff:.3g} ({change.max_logit:.3g})",
                         f"{top}/{n}", "yes" if not differ else f"no ({differ} of {n} change)",
                         f"{model_weight_bytes(model)['llm'] / 2**20:.2f}"])
        full = model_weight_bytes(reference)["llm"] / 2**20
    print(f"machine: {machine(torch.device('cpu'))}")
    print(f"{n} windows x 4 frames, {tokens} new tokens, tiny checkpoint seed {args.seed} "
          f"(float32 LLM weights {full:.2f} MB)")
    print(markdown(COLUMNS, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
