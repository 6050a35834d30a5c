"""Model throughput: the runtime's batched caption path against plain per-request HF ``generate``, same run.

    python -m bench.model_bench [--config tiny,nvila-lite-2b,vila1.5-3b] [--device cpu|cuda] [--dtype D]
        [--layers N] [--batches 1,4,16] [--windows 16] [--frames 4] [--new-tokens 16]
        [--quantization none,int8-dynamic] [--repeat 1] [--threads 1] [--json OUT]

For each config (``tiny`` = ``make_tiny``; the others are random weights at a
released model's dimensions, see bench/model_configs.py) and quantisation mode:

  runtime      ``VilaModel.caption`` on ``--windows`` windows in batches of B
               (vision tower over all frames of the batch, one left-padded prefill,
               greedy decoding with a KV cache) for each B in ``--batches``
  hf-generate  the baseline: one request at a time, the same prompt embeddings
               (same preprocessing, vision tower and projector), then
               ``llm.generate(inputs_embeds=..., do_sample=False)``

Every row generates exactly ``--new-tokens`` tokens (the end-of-turn rows of the
output layer are zeroed, and ``min_new_tokens`` is set for the baseline), so
tokens/s is comparable. Columns: windows/s, generated tokens/s, time to first
token (a call with one new token, for a batch of B), and peak memory
(``torch.cuda.max_memory_allocated`` on CUDA; peak RSS of the process on CPU,
reset before each measurement). With more than one quantisation mode it also
prints each mode's weight bytes and its output change against ``none``.
Not a test: numbers depend on the machine, which is printed with them.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from PIL import Image

from bench.model_configs import SPECS, write_random_checkpoint
from core.errors import InvalidInput
from workers.runtime import VilaModel, load_model, make_tiny
from workers.runtime.loader import resolve_device, resolve_dtype
from workers.runtime.model import CAPTION_PROMPT
from workers.runtime.quantize import compare_outputs, model_weight_bytes, quantize_model

COLUMNS = ("config", "quant", "path", "batch", "windows", "windows/s", "tokens/s", "ttft ms", "peak MB")
FIDELITY_COLUMNS = ("config", "quant", "LLM weight MB", "total weight MB", "first-token agreement",
                    "token agreement", "exact captions", "max abs Δlogit", "max abs logit")


@dataclass(frozen=True)
class Row:
    config: str
    quant: str
    path: str
    batch: int
    windows: int
    windows_per_s: float
    tokens_per_s: float
    ttft_ms: float
    peak_mb: float

    def cells(self) -> list[str]:
        return [self.config, self.quant, self.path, str(self.batch), str(self.windows), f"{self.windows_per_s:.2f}",
                f"{self.tokens_per_s:.1f}", f"{self.ttft_ms:.1f}", f"{self.peak_mb:.0f}"]


def machine(device: torch.device) -> str:
    cpu = platform.processor() or "unknown cpu"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    text = (f"{cpu}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}, Python "
            f"{platform.python_version()}, torch {torch.__version__}")
    if device.type == "cuda":
        text = f"{torch.cuda.get_device_name(device)}, " + text
    return text


# ----------------------------------------------------------------------------- memory
class PeakMemory:
    """Peak memory over a block: CUDA allocator peak, or the process's peak RSS (Linux VmHWM, reset per block)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def reset(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            return
        try:
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        except OSError:
            pass

    def peak_mb(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            return torch.cuda.max_memory_allocated(self.device) / 2**20
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(device: torch.device, fn: Callable[[], object], repeat: int = 1) -> float:
    """Best wall time of ``repeat`` runs of ``fn`` (the least disturbed one on a shared machine)."""
    best = float("inf")
    for _ in range(repeat):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best


# ----------------------------------------------------------------------------- inputs and models
def make_windows(count: int, frames: int, seed: int = 0, size: tuple[int, int] = (640, 360)) -> list[list[Image.Image]]:
    rng = np.random.default_rng(seed)
    return [[Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)) for _ in range(frames)]
            for _ in range(count)]


def disable_end_of_turn(model: VilaModel) -> None:
    """Zero the output rows of the end-of-turn tokens so every answer runs to its token budget."""
    ids = {model.tokenizer.eos_token_id, model.llm.generation_config.eos_token_id}
    for stop in model.template.stop_strings(model.tokenizer):
        encoded = model.tokenizer(stop, add_special_tokens=False).input_ids
        if len(encoded) == 1:
            ids.add(encoded[0])
    flat = set()
    for item in ids:
        flat.update(item if isinstance(item, (list, tuple)) else [item])
    with torch.no_grad():
        head = model.llm.get_output_embeddings().weight
        for token in flat - {None}:
            head[int(token)] = 0


def checkpoint(name: str, root: Path, layers: int | None, device: torch.device, dtype: torch.dtype) -> Path:
    out = root / name
    if name == "tiny":
        return make_tiny(out, overwrite=True)
    init_device = "cuda" if device.type == "cuda" else "cpu"
    return write_random_checkpoint(out, SPECS[name], layers=layers, dtype=dtype, init_device=init_device)


def load(path: Path, device: torch.device, dtype: torch.dtype, quant: str) -> VilaModel:
    model = load_model(path, device=device, dtype=dtype)
    disable_end_of_turn(model)
    return quantize_model(model, quant)


# ----------------------------------------------------------------------------- the two paths
def runtime_rows(model: VilaModel, config: str, quant: str, windows: Sequence, batches: Sequence[int],
                 new_tokens: int, repeat: int = 1) -> list[Row]:
    memory = PeakMemory(model.device)
    rows = []
    for batch in batches:
        chunks = [windows[i:i + batch] for i in range(0, len(windows), batch)]
        model.caption(chunks[0], max_new_tokens=2)  # warm-up: allocator, kernels, one-time caches
        ttft = timed(model.device, lambda: model.caption(chunks[0], max_new_tokens=1), repeat)
        memory.reset()
        seconds = timed(model.device, lambda: [model.caption(c, max_new_tokens=new_tokens) for c in chunks], repeat)
        rows.append(Row(config, quant, "runtime", batch, len(windows), len(windows) / seconds,
                        len(windows) * new_tokens / seconds, ttft * 1000, memory.peak_mb()))
    return rows


def hf_generate(model: VilaModel, window: Sequence[Image.Image], new_tokens: int) -> torch.Tensor:
    """One request the plain way: embed the prompt with its frames, then ``generate``."""
    batch = model._video_batch([window], [CAPTION_PROMPT], extra_tokens=new_tokens)
    pad = model.tokenizer.pad_token_id if model.tokenizer.pad_token_id is not None else 0
    return model.llm.generate(inputs_embeds=batch.embeds, attention_mask=batch.mask, max_new_tokens=new_tokens,
                              min_new_tokens=new_tokens, do_sample=False, pad_token_id=pad)


@torch.inference_mode()
def baseline_row(model: VilaModel, config: str, quant: str, windows: Sequence, new_tokens: int,
                 repeat: int = 1) -> Row:
    memory = PeakMemory(model.device)
    hf_generate(model, windows[0], 2)  # warm-up
    ttft = timed(model.device, lambda: hf_generate(model, windows[0], 1), repeat)
    memory.reset()
    seconds = timed(model.device, lambda: [hf_generate(model, w, new_tokens) for w in windows], repeat)
    return Row(config, quant, "hf-generate", 1, len(windows), len(windows) / seconds,
               len(windows) * new_tokens / seconds, ttft * 1000, memory.peak_mb())


# ----------------------------------------------------------------------------- output
def markdown(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="tiny", help=f"comma-separated: tiny, {', '.join(SPECS)}")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default=None,
                    help="float32|bfloat16|float16 (or fp32, bf16, fp16); default float32 on CPU, bfloat16 on CUDA")
    ap.add_argument("--layers", type=int, default=None, help="cap LLM and vision layers (released configs)")
    ap.add_argument("--batches", default="1,4,16")
    ap.add_argument("--windows", type=int, default=16)
    ap.add_argument("--frames", type=int, default=None, help="frames per window (default 4 on CPU, 8 on CUDA)")
    ap.add_argument("--new-tokens", type=int, default=None, help="tokens per answer (default 16 CPU, 32 CUDA)")
    ap.add_argument("--quantization", default="none", help="comma-separated modes, e.g. none,int8-dynamic")
    ap.add_argument("--repeat", type=int, default=1, help="time each measurement this many times, keep the best")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (fixed for repeatable numbers)")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    ap.add_argument("--workdir", type=Path, default=None, help="where checkpoints are written (default a temp dir)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    try:  # the loader's own checks: short dtype names (bf16, fp16), CUDA asked for but absent
        device = resolve_device(args.device)
        dtype = resolve_dtype(args.dtype, device)
    except InvalidInput as exc:
        raise SystemExit(f"model_bench: {exc}") from None
    cuda = device.type == "cuda"
    frames = args.frames or (8 if cuda else 4)
    new_tokens = args.new_tokens or (32 if cuda else 16)
    batches = [int(b) for b in args.batches.split(",")]
    modes = args.quantization.split(",")
    configs = args.config.split(",")
    unknown = [c for c in configs if c != "tiny" and c not in SPECS]
    if unknown:
        raise SystemExit(f"model_bench: unknown config {unknown[0]!r}; choose from tiny, {', '.join(SPECS)}")
    windows = make_windows(args.windows, frames)

    rows: list[Row] = []
    fidelity: list[list[str]] = []
    if args.workdir:
        Path(args.workdir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        for config in configs:
            path = checkpoint(config, Path(tmp), args.layers, device, dtype)
            reference = None
            for quant in modes:
                model = load(path, device, dtype, quant)
                rows += runtime_rows(model, config, quant, windows, batches, new_tokens, args.repeat)
                rows.append(baseline_row(model, config, quant, windows, new_tokens, args.repeat))
                if len(modes) > 1:
                    if reference is None:
                        reference = model if quant == "none" else load(path, device, dtype, "none")
                    change = compare_outputs(reference, model, windows, max_new_tokens=new_tokens)
                    weights = model_weight_bytes(model)
                    fidelity.append([config, quant, f"{weights['llm'] / 2**20:.2f}", f"{weights['total'] / 2**20:.2f}",
                                     f"{change.first_token_agreement:.3f}", f"{change.token_agreement:.3f}",
                                     f"{change.exact_captions}/{change.windows}",
                                     f"{change.max_logit_diff:.3g}", f"{change.max_logit:.3g}"])
                if model is not reference:
                    del model
                if cuda:
                    torch.cuda.empty_cache()

    print(f"machine: {machine(device)}")
    print(f"settings: device {device}, dtype {str(dtype).removeprefix('torch.')}, {args.windows} windows x {frames} "
          f"frames, {new_tokens} new tokens each (end of turn disabled), layers {args.layers or 'as released'}, "
          f"best of {args.repeat}")
    print(markdown(COLUMNS, [row.cells() for row in rows]))
    if fidelity:
        print()
        print(f"output change against 'none' (greedy captions of {args.windows} windows, {new_tokens} tokens; "
              "first-token logits on the same windows)")
        print(markdown(FIDELITY_COLUMNS, fidelity))
    if args.json:
        args.json.write_text(json.dumps({"columns": list(COLUMNS), "rows": [asdict(r) for r in rows],
                                         "fidelity": fidelity}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
