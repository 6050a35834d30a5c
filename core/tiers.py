"""Tier names, the one list every stage spells them from: cheapest first, each escalating to the next.

A tier's profile (frames, token budget, device, quantisation) is ``workers.tiers.TIERS``, keyed by these
names; the dispatcher routes by them and escalates a window one step up (``escalation_target``); the
summarizer ranks a result by its tier (a higher tier's answer replaces a lower one's).
"""
from __future__ import annotations

from core.errors import InvalidInput

TIER_NAMES: tuple[str, ...] = ("edge", "cloud")
DEFAULT_TIER = TIER_NAMES[0]


def check_tier(name: str, what: str = "tier") -> str:
    """``name`` when it is a tier; InvalidInput naming ``what`` and the valid tiers otherwise."""
    if name not in TIER_NAMES:
        raise InvalidInput(f"{what}: unknown tier {name!r}; valid tiers: {', '.join(TIER_NAMES)}")
    return name


def tier_rank(name: str) -> int:
    """0 for the cheapest tier, one more per step up; -1 for a name that is no tier."""
    return TIER_NAMES.index(name) if name in TIER_NAMES else -1


def escalation_target(name: str) -> str | None:
    """The tier a window of ``name`` escalates to, or None from the top tier."""
    rank = tier_rank(name)
    return TIER_NAMES[rank + 1] if 0 <= rank < len(TIER_NAMES) - 1 else None
