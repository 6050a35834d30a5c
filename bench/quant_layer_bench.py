"""CPU speed of the quantisation modes on decoder layers of a released size, against float32 in the same run.

    python -m bench.quant_layer_bench [--layers 2] [--batch 4] [--prompt 256] [--steps 16] [--threads 1]

The tiny checkpoint is too small to say anything about speed (its weights are
mostly embeddings), so this times ``--layers`` Qwen2 decoder layers at
NVILA-Lite-2B's LLM width (Qwen2.5-1.5B: hidden 1536, MLP 8960, 12 heads / 2 KV
heads) with a 1,000-token vocabulary, so the layers dominate: a prefill of
``--batch`` x ``--prompt`` tokens, then ``--steps`` greedy decode steps with the
KV cache. Random weights; every mode quantises the same model. Best of 3.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings

import torch
from torch import nn
from transformers import Qwen2Config, Qwen2ForCausalLM

from bench.model_bench import machine, markdown

MODES = ("none", "int8-dynamic", "int8-dynamic-token", "int8")


def build(layers: int) -> Qwen2ForCausalLM:
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=1000, hidden_size=1536, intermediate_size=8960, num_hidden_layers=layers,
                         num_attention_heads=12, num_key_value_heads=2, tie_word_embeddings=False)
    return Qwen2ForCausalLM(config).eval()


def quantize(llm: nn.Module, mode: str) -> nn.Module:
    """The same layer selection as ``workers.runtime.quantize`` (decoder linears; the output layer stays float)."""
    output = llm.get_output_embeddings()
    if mode == "int8-dynamic":
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        spec = {n: per_channel_dynamic_qconfig for n, m in llm.named_modules()
                if isinstance(m, nn.Linear) and m is not output}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(llm, spec, dtype=torch.qint8, inplace=True)
    elif mode in ("int8-dynamic-token", "int8"):
        from torchao.quantization import Int8DynamicActivationInt8WeightConfig, Int8WeightOnlyConfig, quantize_

        config = (Int8DynamicActivationInt8WeightConfig if mode == "int8-dynamic-token" else Int8WeightOnlyConfig)(
            set_inductor_config=False)
        quantize_(llm, config, filter_fn=lambda m, _n: isinstance(m, nn.Linear) and m is not output)
    return llm


@torch.inference_mode()
def run(llm: nn.Module, batch: int, prompt: int, steps: int) -> tuple[float, float]:
    """(prefill seconds, seconds per decode step)."""
    ids = torch.randint(0, 1000, (batch, prompt), generator=torch.Generator().manual_seed(1))
    start = time.perf_counter()
    out = llm(input_ids=ids, use_cache=True, logits_to_keep=1)
    prefill = time.perf_counter() - start
    cache, token = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
    start = time.perf_counter()
    for _ in range(steps):
        out = llm(input_ids=token, past_key_values=cache, use_cache=True)
        cache, token = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
    return prefill, (time.perf_counter() - start) / steps


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--prompt", type=int, default=256)
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows, base = [], None
    for mode in MODES:
        llm = quantize(build(args.layers), mode)
        run(llm, args.batch, 8, 2)  # warm-up
        prefill, step = (min(v) for v in zip(*(run(llm, args.batch, args.prompt, args.steps) for _ in range(3))))
        base = base or (prefill, step)
        rows.append([mode, f"{prefill * 1000:.0f}", f"{base[0] / prefill:.2f}", f"{step * 1000:.1f}",
                     f"{base[1] / step:.2f}"])
    print(f"machine: {machine(torch.device('cpu'))}")
    print(f"{args.layers} Qwen2 decoder layers at hidden 1536 / MLP 8960, batch {args.batch}, prompt {args.prompt} "
          f"tokens, {args.steps} decode steps, best of 3")
    print(markdown(("quant", "prefill ms", "prefill speed-up", "decode ms/step", "decode speed-up"), rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
