"""The status rules (strategy.status) on both sides of each boundary."""

from __future__ import annotations

from decimal import Decimal as D
from fractions import Fraction

import pytest

from friday.strategy.metrics import LEVEL, RATIO, TOTAL
from friday.strategy.models import Status
from friday.strategy.status import judge, worse

HALF = Fraction(1, 2)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # at least 100 by the end, half the period gone: pace 50, at risk down to 45
        ("100", Status.MET),
        ("99.99", Status.ON_TRACK),
        ("50", Status.ON_TRACK),
        ("49.99", Status.AT_RISK),
        ("45", Status.AT_RISK),
        ("44.99", Status.OFF_TRACK),
        ("0", Status.OFF_TRACK),
    ],
)
def test_a_total_at_least_is_judged_by_its_pace(value, expected):
    assert judge(value=D(value), target=D(100), direction="at_least", kind=TOTAL, elapsed=HALF) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("100", Status.MET), ("99.99", Status.AT_RISK), ("90", Status.AT_RISK), ("89.99", Status.OFF_TRACK)],
)
def test_a_total_at_least_over_a_finished_period_has_no_pace(value, expected):
    assert (
        judge(value=D(value), target=D(100), direction="at_least", kind=TOTAL, elapsed=Fraction(1))
        == expected
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # at most 1000, half gone: projected = value × 2; on track to 500, at risk to 550, then off; over 1000 off
        ("0", Status.ON_TRACK),
        ("500", Status.ON_TRACK),
        ("500.01", Status.AT_RISK),
        ("550", Status.AT_RISK),
        ("550.01", Status.OFF_TRACK),
        ("1000", Status.OFF_TRACK),
        ("1000.01", Status.OFF_TRACK),
    ],
)
def test_a_total_at_most_is_judged_by_its_projection(value, expected):
    assert judge(value=D(value), target=D(1000), direction="at_most", kind=TOTAL, elapsed=HALF) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("50", Status.MET), ("49.9", Status.AT_RISK), ("45", Status.AT_RISK), ("44.9", Status.OFF_TRACK)],
)
def test_a_ratio_at_least_is_compared_as_it_stands(value, expected):
    # NPS at least 50: pace does not apply, however much of the period is gone
    assert judge(value=D(value), target=D(50), direction="at_least", kind=RATIO, elapsed=HALF) == expected


@pytest.mark.parametrize(
    ("value", "target", "expected"),
    [
        ("0", "0", Status.MET),
        ("1", "0", Status.OFF_TRACK),  # no reminder overdue: one is off track
        ("10", "10", Status.MET),
        ("11", "10", Status.AT_RISK),
        ("11.01", "10", Status.OFF_TRACK),
    ],
)
def test_a_level_at_most_is_compared_as_it_stands(value, target, expected):
    assert judge(value=D(value), target=D(target), direction="at_most", kind=LEVEL, elapsed=HALF) == expected


def test_no_figure_has_no_status_and_a_negative_target_keeps_its_margin():
    assert judge(value=None, target=D(50), direction="at_least", kind=RATIO) == Status.UNKNOWN
    # NPS at least −10: within 10% of 10 points below is at risk (−11), beyond is off track
    assert judge(value=D(-11), target=D(-10), direction="at_least", kind=RATIO) == Status.AT_RISK
    assert judge(value=D("-11.1"), target=D(-10), direction="at_least", kind=RATIO) == Status.OFF_TRACK


def test_worse_is_further_down_the_list_and_unknown_never_slips():
    assert worse(Status.AT_RISK, Status.ON_TRACK) and worse(Status.ON_TRACK, Status.MET)
    assert not worse(Status.MET, Status.OFF_TRACK) and not worse(Status.AT_RISK, Status.AT_RISK)
    assert not worse(Status.UNKNOWN, Status.MET) and not worse(Status.OFF_TRACK, Status.UNKNOWN)
