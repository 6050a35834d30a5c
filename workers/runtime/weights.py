"""Weight-file checks shared by the component loaders."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from services.core.errors import ModelLayoutError


def require_all_weights(loading_info: dict[str, Any], folder: Path) -> None:
    """Raise ModelLayoutError when HF ``from_pretrained`` had to invent weights.

    ``loading_info`` is the dict returned with ``output_loading_info=True``;
    HF only warns about missing keys and initialises them randomly, which would
    silently turn a damaged checkpoint into noise.
    """
    missing = sorted(loading_info.get("missing_keys") or ())
    mismatched = loading_info.get("mismatched_keys") or ()
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise ModelLayoutError(f"{folder / 'model.safetensors'} lacks {len(missing)} weight(s): {shown}")
    if mismatched:
        raise ModelLayoutError(f"{folder / 'model.safetensors'} has weights of the wrong shape: {list(mismatched)[:3]}")


def read_state(folder: Path) -> dict[str, Any]:
    """All tensors of ``folder/model.safetensors`` or of the shards its index names.

    ModelLayoutError naming the file when it cannot be read.
    """
    import json

    from safetensors.torch import load_file

    single = folder / "model.safetensors"
    index = folder / "model.safetensors.index.json"
    try:
        if single.is_file():
            return load_file(single)
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        return {k: v for shard in shards for k, v in load_file(folder / shard).items()}
    except Exception as exc:  # safetensors raises its own error types
        raise ModelLayoutError(f"{single} could not be read: {exc}") from None
