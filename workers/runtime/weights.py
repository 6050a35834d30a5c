"""Weight-file checks shared by the component loaders."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import ModelLayoutError


def require_all_weights(loading_info: dict[str, Any], folder: Path) -> None:
    """Raise ModelLayoutError when HF ``from_pretrained`` had to invent or drop weights.

    ``loading_info`` is the dict returned with ``output_loading_info=True``;
    HF only warns about missing keys (initialising them randomly, which would
    silently turn a damaged checkpoint into noise) and about unexpected ones
    (dropping them, which hides a checkpoint of another layout). Keys the model
    class itself declares ignorable (old ``rotary_emb.inv_freq``/``position_ids``
    buffers) are already removed from ``unexpected_keys`` by transformers.
    """
    missing = sorted(loading_info.get("missing_keys") or ())
    unexpected = sorted(loading_info.get("unexpected_keys") or ())
    mismatched = loading_info.get("mismatched_keys") or ()
    where = weights_file(folder)
    if missing:
        raise ModelLayoutError(f"{where} lacks {len(missing)} weight(s): {_first(missing)}")
    if unexpected:
        raise ModelLayoutError(f"{where} has {len(unexpected)} unexpected weight(s): {_first(unexpected)}")
    if mismatched:
        raise ModelLayoutError(f"{where} has weights of the wrong shape: {list(mismatched)[:3]}")


def weights_file(folder: Path) -> Path:
    """The file that names ``folder``'s weights: ``model.safetensors``, or the shard index when only that exists."""
    index = folder / "model.safetensors.index.json"
    single = folder / "model.safetensors"
    return index if index.is_file() and not single.is_file() else single


def _first(keys: list[str]) -> str:
    """The first five keys, with "..." when there are more."""
    return ", ".join(keys[:5]) + (" ..." if len(keys) > 5 else "")


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
