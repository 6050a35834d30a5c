"""The default candidate action labels scored for every window.

Kept here (no torch import) so that the dispatcher can send them to workers without
loading the model runtime; ``workers.runner`` re-exports this tuple.
"""
from __future__ import annotations

DEFAULT_ACTION_LABELS: tuple[str, ...] = (
    "a person walking",
    "a vehicle moving",
    "an object moving left",
    "an object moving right",
    "an object moving up",
    "an object moving down",
    "an object appearing",
    "an object disappearing",
    "nothing moving",
)
