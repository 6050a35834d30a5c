"""NVILA families (NVILA code generation, Qwen2 LLM, ``auto`` template).

- ``nvila``: dynamic S2 (``dynamic_s2: true``; NVILA-8B/15B), 256*cols*rows tokens per image.
- ``nvila-lite``: ``dynamic`` tiling with ``mlp_downsample_3x3_fix`` (NVILA-Lite-2B/8B/15B), 121 per tile.
- ``nvila-video``: ``resize`` (NVILA-8B-Video; also any other Qwen2 ``llava_llama``
  checkpoint, such as the embedded tiny default model).
Frames: ``round(linspace(0, n-1, N))`` as in the NVILA release code.
"""
from __future__ import annotations

from workers.runtime.families.registry import NVILA, Facts, Family, register

QWEN2 = "Qwen2ForCausalLM"


def _qwen(facts: Facts) -> bool:
    return facts.llm_architecture == QWEN2 and facts.tower_type == "siglip_vision_model" and not facts.s2


register(Family(
    name="nvila", generation=NVILA, template="auto", merge_order="row", frame_sampling="round-linspace",
    describes="NVILA-8B / NVILA-15B (SigLIP-448, dynamic S2 448/896/1344)",
    matches=lambda f: _qwen(f) and f.dynamic_s2,
))
register(Family(
    name="nvila-lite", generation=NVILA, template="auto", merge_order="row", frame_sampling="round-linspace",
    describes="NVILA-Lite-2B/8B/15B (SigLIP-448, dynamic tiles, 3x3 merge)",
    matches=lambda f: _qwen(f) and f.aspect == "dynamic",
))
register(Family(
    name="nvila-video", generation=NVILA, template="auto", merge_order="row", frame_sampling="round-linspace",
    describes="NVILA-8B-Video and other NVILA-code checkpoints with resized images",
    matches=lambda f: _qwen(f) and f.aspect in ("resize", "pad"),
))
