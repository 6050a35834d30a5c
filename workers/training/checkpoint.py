"""Save a model being trained in the released VILA layout (``config.json``, ``llm/``, ``vision_tower/``, ``mm_projector/``).

Configs, tokenizer and preprocessor files are copied from the checkpoint the
stage started from (training changes weights, never shapes); weights are
written as float32 safetensors under the released key names. The directory is
written beside its target and renamed into place, so a stopped run never
leaves half a checkpoint.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from safetensors.torch import save_file

from workers.runtime.model import VilaModel
from workers.training.base import vision_state

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
                   "vocab.json", "merges.txt", "generation_config.json", "chat_template.jinja")


def save_checkpoint(model: VilaModel, source: Path, out: Path, extra: dict | None = None) -> Path:
    """Write ``model``'s weights with ``source``'s configs to ``out`` (replaced); ``extra`` goes to training.json."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        shutil.copy2(source / "config.json", staging / "config.json")
        llm_dir = staging / "llm"
        model.llm.save_pretrained(llm_dir, safe_serialization=True)
        for name in TOKENIZER_FILES:
            if (source / "llm" / name).is_file():
                shutil.copy2(source / "llm" / name, llm_dir / name)
        (staging / "vision_tower").mkdir()
        save_file({k: v.float() for k, v in vision_state(model.tower.model).items()},
                  staging / "vision_tower" / "model.safetensors", metadata={"format": "pt"})
        for name in ("config.json", "preprocessor_config.json"):
            shutil.copy2(source / "vision_tower" / name, staging / "vision_tower" / name)
        (staging / "mm_projector").mkdir()
        save_file({k: v.detach().float().contiguous() for k, v in model.projector.state_dict().items()},
                  staging / "mm_projector" / "model.safetensors", metadata={"format": "pt"})
        shutil.copy2(source / "mm_projector" / "config.json", staging / "mm_projector" / "config.json")
        if extra is not None:
            (staging / "training.json").write_text(json.dumps(extra, indent=2, sort_keys=True) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.rename(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out
