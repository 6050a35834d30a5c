"""Tier routing: which tier (``core.tiers.TIER_NAMES``) each stream's windows go to first."""
from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import InvalidInput
from core.tiers import DEFAULT_TIER, check_tier


def parse_stream_tiers(text: str) -> dict[str, str]:
    """``"cam1=cloud, cam2=edge"`` -> ``{"cam1": "cloud", "cam2": "edge"}``.

    Raises ``InvalidInput`` naming the bad entry (no ``=``, empty stream id, unknown tier,
    a stream listed twice).
    """
    tiers: dict[str, str] = {}
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        stream, sep, tier = (s.strip() for s in entry.partition("="))
        if not sep or not stream:
            raise InvalidInput(f"stream_tiers: {entry!r} is not STREAM=TIER")
        check_tier(tier, f"stream_tiers: {entry!r}")
        if stream in tiers:
            raise InvalidInput(f"stream_tiers: stream {stream!r} is listed twice")
        tiers[stream] = tier
    return tiers


@dataclass(frozen=True)
class TierRouter:
    """``tier_for(stream_id)``: the stream's own tier, else ``default``."""

    default: str = DEFAULT_TIER
    streams: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_tier(self.default, "default_tier")

    def tier_for(self, stream_id: str) -> str:
        return self.streams.get(stream_id, self.default)
