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
