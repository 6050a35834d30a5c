"""Captioning throughput of the embedded default model on CPU, against the tiny random checkpoint.

    python -m bench.tiny_model_bench [--model PATH] [--threads 2] [--windows 32] [--repeat 3]

Both models caption the same windows (4 frames of a synthetic scene each, the
edge tier's frame count and 32-token limit) at batch 1 and batch 8; the table
shows windows per second (best of ``--repeat``) and the tokens each model wrote.
The tiny random checkpoint (``make_tiny``, seed 0) is the baseline measured in
the same run: it has the runtime's cost without a trained model's answers.
Not a test: numbers depend on the machine, which is printed with them.
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from workers.runtime import load_model, make_tiny
from workers.runtime.default import default_model_path
from workers.tiers import get_tier
from workers.training.scenes import plan_scene
from workers.training.scenes.frames import window_images
from workers.training.scenes.split import EVAL_SEEDS


def measure(model, windows, batch: int, tokens: int, repeat: int) -> tuple[float, float]:
    """Best windows/s over ``repeat`` passes, and mean generated tokens per window."""
    best, words = 0.0, 0
    for _ in range(repeat):
        began = time.perf_counter()
        captions = []
        for start in range(0, len(windows), batch):
            captions += model.caption(windows[start:start + batch], max_new_tokens=tokens)
        best = max(best, len(windows) / (time.perf_counter() - began))
        words = sum(len(model.tokenizer(c, add_special_tokens=False).input_ids) for c in captions)
    return best, words / len(windows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="checkpoint (default: the embedded default model)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--windows", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tier = get_tier("edge")
    windows = [window_images(plan_scene(EVAL_SEEDS + 500_000 + i), tier.frames_per_window)
               for i in range(args.windows)]
    with tempfile.TemporaryDirectory() as tmp:
        models = {("model" if args.model else "default"): load_model(args.model or default_model_path()),
                  "tiny-random (baseline)": load_model(make_tiny(Path(tmp) / "tiny-random", seed=0))}
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
              f"torch threads {args.threads}, {args.windows} windows of {tier.frames_per_window} frames")
        print(f"{'model':<40} {'batch':>5} {'windows/s':>10} {'tokens/window':>14}")
        for name, model in models.items():
            model.caption(windows[:2], max_new_tokens=4)  # warm-up
            for batch in (1, 8):
                rate, tokens = measure(model, windows, batch, tier.max_new_tokens, args.repeat)
                label = f"{name} ({model.info.model_id})"
                print(f"{label:<40} {batch:>5} {rate:>10.1f} {tokens:>14.1f}")


if __name__ == "__main__":
    main()
