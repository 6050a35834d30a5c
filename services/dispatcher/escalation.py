"""Escalation rules: when an edge result is sent on to the cloud tier.

Syntax (the ``escalate`` setting; empty = never escalate)::

    rule    := clause ( ";" clause )*        the window escalates when ANY clause matches
    clause  := "action:" LABEL ( "|" LABEL )* ">=" SCORE
                                             one of these action labels scored >= SCORE (0..1)
             | "caption:" WORD ( "|" WORD )*
                                             one of these words (or phrases) occurs in the caption,
                                             case-insensitively, on word boundaries
             | "activity>=" SCORE            the window's scene-change score is >= SCORE (0..1)

Example: ``action:a person walking|a vehicle moving>=0.4; caption:fire|smoke; activity>=0.6``.
Whitespace around separators is ignored; labels keep their inner spaces.

Only a successful edge result is checked. What is published for an escalated window is the
cloud result alone (tier ``cloud``): the summarizer keys entries by window id, so one window has
one entry, and the cloud tier's answer is the better one. When the cloud call fails after its
retries, the edge result is published instead (the window is not lost).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import InvalidInput
from core.types import WindowResult


@dataclass(frozen=True)
class ActionClause:
    labels: tuple[str, ...]
    threshold: float

    def match(self, result: WindowResult) -> str | None:
        for action in result.actions:
            if action.label in self.labels and action.score >= self.threshold:
                return f"action {action.label!r} scored {action.score:.2f} >= {self.threshold:g}"
        return None


@dataclass(frozen=True)
class CaptionClause:
    words: tuple[str, ...]

    def match(self, result: WindowResult) -> str | None:
        for word in self.words:
            if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", result.caption, flags=re.IGNORECASE):
                return f"caption mentions {word!r}"
        return None


@dataclass(frozen=True)
class ActivityClause:
    threshold: float

    def match(self, result: WindowResult) -> str | None:
        if result.activity >= self.threshold:
            return f"activity {result.activity:.2f} >= {self.threshold:g}"
        return None


Clause = ActionClause | CaptionClause | ActivityClause


@dataclass(frozen=True)
class EscalationRule:
    """A parsed rule; ``match(result)`` returns why the window escalates, or None."""

    clauses: tuple[Clause, ...] = ()
    text: str = ""

    def __bool__(self) -> bool:
        return bool(self.clauses)

    def match(self, result: WindowResult) -> str | None:
        if result.error:
            return None
        for clause in self.clauses:
            reason = clause.match(result)
            if reason is not None:
                return reason
        return None


def _score(text: str, clause: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput(f"escalate: {clause!r}: {text.strip()!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise InvalidInput(f"escalate: {clause!r}: the score must be in 0..1, got {value:g}")
    return value


def _names(text: str, clause: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split("|"))
    if not names or any(not n for n in names):
        raise InvalidInput(f"escalate: {clause!r}: an empty label or word")
    return names


def _clause(text: str) -> Clause:
    kind, sep, rest = text.partition(":")
    kind = kind.strip().lower()
    if sep and kind == "action":
        labels, op, score = rest.rpartition(">=")
        if not op:
            raise InvalidInput(f"escalate: {text!r}: expected action:LABEL|LABEL>=SCORE")
        return ActionClause(_names(labels, text), _score(score, text))
    if sep and kind == "caption":
        return CaptionClause(_names(rest, text))
    head, op, score = text.partition(">=")
    if op and head.strip().lower() == "activity":
        return ActivityClause(_score(score, text))
    raise InvalidInput(f"escalate: {text!r}: unknown clause (action:..., caption:..., activity>=...)")


def parse_rule(text: str) -> EscalationRule:
    """The rule in ``text`` (see the module docstring); ``InvalidInput`` naming the bad clause."""
    clauses = tuple(_clause(part.strip()) for part in text.split(";") if part.strip())
    return EscalationRule(clauses, text.strip())
