"""Tiny checkpoints in the flat NVILA ``-hf`` layout (``--like nvila-8b-hf``, ``nvila-lite-2b-hf``, ...).

Built from the tiny ``llava_llama`` checkpoint of the same release (``families``), then flattened
the way the ``-hf`` repos store it (see ``workers.runtime.flat_hf``): one ``config.json`` with
``text_config``/``vision_config`` and the media token ids, one ``model.safetensors`` keyed ``llm.*``,
``vision_tower.vision_model.*``, ``mm_projector.layers.N.*``, and the tokenizer (media tokens included,
the LLM's vocabulary grown to match) and ``preprocessor_config.json`` in the root.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from safetensors.torch import save
from transformers import AutoModelForCausalLM, AutoTokenizer

from workers.runtime.media import add_media_tokens
from workers.runtime.tiny.families import LIKES, write_like
from workers.runtime.weights import read_state

FLAT_LIKES = {
    "nvila-8b-hf": ("nvila-8b", "nvila", "NVILAForConditionalGeneration"),
    "nvila-15b-hf": ("nvila-15b", "nvila", "NVILAForConditionalGeneration"),
    "nvila-lite-2b-hf": ("nvila-lite-2b", "nvila_lite", "NVILALiteForConditionalGeneration"),
    "nvila-lite-15b-hf": ("nvila-lite-15b", "nvila_lite", "NVILALiteForConditionalGeneration"),
}


def write_flat(out: Path, name: str, seed: int) -> Path:
    """Write the flat tiny ``name`` (a key of ``FLAT_LIKES``) into the empty directory ``out``; returns ``out``."""
    base, model_type, architecture = FLAT_LIKES[name]
    with tempfile.TemporaryDirectory(prefix="flat-") as scratch:
        src = Path(scratch) / "src"
        src.mkdir()
        write_like(src, LIKES[base], seed)
        llm = AutoModelForCausalLM.from_pretrained(src / "llm", local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(src / "llm", local_files_only=True)
        media = add_media_tokens(tokenizer, llm)
        llm.config.vocab_size = llm.get_input_embeddings().num_embeddings
        state = {f"llm.{k}": v.contiguous() for k, v in llm.state_dict().items()}
        state.update({f"vision_tower.{k}": v for k, v in read_state(src / "vision_tower").items()})
        state.update({f"mm_projector.{k}": v for k, v in read_state(src / "mm_projector").items()})
        (out / "model.safetensors").write_bytes(save(dict(sorted(state.items())), metadata={"format": "pt"}))
        tokenizer.save_pretrained(out)
        shutil.copy(src / "vision_tower/preprocessor_config.json", out / "preprocessor_config.json")
        vision = json.loads((src / "vision_tower/config.json").read_text())
        top = json.loads((src / "config.json").read_text())
    config = {
        "architectures": [architecture], "model_type": model_type, "text_config": llm.config.to_dict(),
        "vision_config": vision, "image_token_id": media.image_id, "video_token_id": media.video_id,
        "num_video_frames": top.get("num_video_frames", 8), "_name_or_path": top["_name_or_path"] + "-hf",
    }
    (out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return out
