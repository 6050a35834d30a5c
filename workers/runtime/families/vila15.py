"""VILA1.5 families (legacy code generation): 3b/8b/13b, 3b-s2 and 40b.

- ``vila1.5-40b``: InternViT-6B tower (``intern_vit_6b``), ``hermes-2``.
- ``vila1.5-s2``: SigLIP-384 with fixed S2 (``s2: true``), ``vicuna_v1``.
- ``vila1.5``: SigLIP-384, Llama LLM, ``resize``; ``llama_3`` when the tokenizer is
  Llama-3's (Llama-3-VILA1.5-8B), else ``vicuna_v1`` (3b, 13b).
Frames: ``np.linspace(0, n-1, N, dtype=int)`` (truncation) as in ``run_vila.py``.
"""
from __future__ import annotations

from workers.runtime.families.registry import LEGACY, Facts, Family, register

LLAMA = "LlamaForCausalLM"


def _legacy_llama(facts: Facts) -> bool:
    return facts.llm_architecture == LLAMA and not facts.dynamic_s2 and facts.aspect in ("resize", "pad")


register(Family(
    name="vila1.5-40b", generation=LEGACY, template="hermes-2", merge_order="column",
    frame_sampling="linspace-int", describes="VILA1.5-40b (InternViT-6B-448, Nous-Hermes-2-Yi-34B)",
    matches=lambda f: _legacy_llama(f) and f.tower_type == "intern_vit_6b",
))
register(Family(
    name="vila1.5-s2", generation=LEGACY, template="vicuna_v1", merge_order="column",
    frame_sampling="linspace-int", describes="VILA1.5-3b-s2 (SigLIP-384 with S2 scales 384,768)",
    matches=lambda f: _legacy_llama(f) and f.s2 and f.tower_type == "siglip_vision_model",
))
register(Family(
    name="vila1.5", generation=LEGACY, template="vicuna_v1", merge_order="column",
    frame_sampling="linspace-int", describes="VILA1.5-3b / Llama-3-VILA1.5-8B / VILA1.5-13b (SigLIP-384)",
    matches=lambda f: _legacy_llama(f) and f.tower_type == "siglip_vision_model",
    template_for=lambda f: "llama_3" if f.llama3_tokenizer else "vicuna_v1",
))
