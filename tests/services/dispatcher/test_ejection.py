"""HealthRecord (services/dispatcher/ejection.py): when probe answers eject a worker and when one restores it."""
from __future__ import annotations

from services.dispatcher.ejection import HealthRecord


def test_misses_in_a_row_eject_and_one_serving_answer_restores():
    health = HealthRecord(eject_after=3)
    assert [health.observe(False), health.observe(False)] == [None, None] and not health.ejected
    assert health.observe(False) == "ejected" and health.ejected
    assert health.observe(False) is None  # said once
    assert health.observe(True) == "restored" and not health.ejected and health.misses == 0
    assert health.observe(True) is None


def test_a_serving_answer_between_misses_starts_the_count_again():
    health = HealthRecord(eject_after=3)
    for serving in (False, False, True, False, False):
        assert health.observe(serving) is None
    assert not health.ejected and health.misses == 2
