"""The default candidate action labels scored for every window.

They are the seven actions of the embedded default model (``tiny-synthetic-v1``,
trained to answer the action question with exactly these words; the scene
spec's ``ACTIONS``), which are also generic motion labels for a camera scene.
A real VILA checkpoint scores any labels: pass your own (``--actions``, the
dispatcher's ``labels`` setting). Kept here (no torch import) so that the
dispatcher can send them to workers without loading the model runtime;
Local mode and the dispatcher both default to this tuple.
"""
from __future__ import annotations

DEFAULT_ACTION_LABELS: tuple[str, ...] = (
    "moving left",
    "moving right",
    "moving up",
    "moving down",
    "staying still",
    "appearing",
    "disappearing",
)
