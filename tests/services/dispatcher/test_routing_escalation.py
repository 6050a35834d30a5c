"""Tier routing and the escalation rule syntax (pure)."""
from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.types import ActionScore, WindowResult
from services.dispatcher.escalation import parse_rule
from services.dispatcher.routing import TierRouter, parse_stream_tiers


def result(caption="a quiet street", actions=(), activity=0.0, error=""):
    return WindowResult(stream_id="cam1", window_id="w", seq=0, start=0, end=1, caption=caption,
                        actions=tuple(ActionScore(l, s) for l, s in actions), activity=activity, error=error)


def test_stream_tiers_and_default():
    router = TierRouter("edge", parse_stream_tiers(" cam1=cloud, cam2 = edge ,"))
    assert router.tier_for("cam1") == "cloud"
    assert router.tier_for("cam2") == "edge"
    assert router.tier_for("other") == "edge"
    assert TierRouter("cloud").tier_for("x") == "cloud"


@pytest.mark.parametrize("text, message", [
    ("cam1", "not STREAM=TIER"), ("=cloud", "not STREAM=TIER"), ("cam1=gpu", "unknown tier 'gpu'"),
    ("cam1=edge,cam1=cloud", "listed twice"),
])
def test_bad_stream_tiers_name_the_entry(text, message):
    with pytest.raises(InvalidInput, match=message):
        parse_stream_tiers(text)


def test_unknown_default_tier():
    with pytest.raises(InvalidInput, match="default_tier"):
        TierRouter("gpu")


def test_action_clause_matches_a_listed_label_at_or_over_the_threshold():
    rule = parse_rule("action: a person walking | a vehicle moving >= 0.5")
    assert rule.match(result(actions=[("a vehicle moving", 0.5)])) == "action 'a vehicle moving' scored 0.50 >= 0.5"
    assert rule.match(result(actions=[("a vehicle moving", 0.49)])) is None
    assert rule.match(result(actions=[("nothing moving", 0.9)])) is None


def test_caption_clause_is_case_insensitive_on_word_boundaries():
    rule = parse_rule("caption:fire|smoke alarm")
    assert rule.match(result(caption="FIRE near the door")) == "caption mentions 'fire'"
    assert rule.match(result(caption="the smoke alarm rings"))
    assert rule.match(result(caption="a campfire")) is None


def test_any_clause_escalates_and_errors_never_do():
    rule = parse_rule("caption:fire; activity>=0.6")
    assert rule.match(result(activity=0.7)) == "activity 0.70 >= 0.6"
    assert rule.match(result(activity=0.7, error="invalid-request: x")) is None
    assert not parse_rule("  ")
    assert parse_rule("activity>=0.1")


@pytest.mark.parametrize("text, message", [
    ("action:a person walking", "expected action:LABEL"), ("action:a>=high", "'high' is not a number"),
    ("action:a>=1.5", "in 0..1"), ("caption:fire||smoke", "empty label"), ("colour:red", "unknown clause"),
    ("activity>0.5", "unknown clause"),
])
def test_bad_rules_name_the_clause(text, message):
    with pytest.raises(InvalidInput, match=message):
        parse_rule(text)
