"""Which earning rules are in force at a time (loyalty.rules.services.rules_in_force), read
directly and from a batch's reference snapshot."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from loyalty.db import reference_snapshot, utcnow
from loyalty.rules.models import RuleKind
from loyalty.rules.services import SNAPSHOT_WINDOW, add_earning_rule, rules_in_force

NOW = utcnow()


def rates(db, at: dt.datetime) -> list[Fraction]:  # type: ignore[no-untyped-def]
    return [r.points_per_unit for r in rules_in_force(db, at, "AED")]


@pytest.fixture
def history(db):  # type: ignore[no-untyped-def]
    """Base rate 1 long ago to 40 days ago, 3 from then to 2 days ago, 2 since; a rate of 9 in
    USD only, all along."""
    add_earning_rule(db, "old", RuleKind.BASE, points_per_unit=1,
                     valid_from=NOW - dt.timedelta(days=400), valid_to=NOW - dt.timedelta(days=40))
    add_earning_rule(db, "triple", RuleKind.BASE, points_per_unit=3,
                     valid_from=NOW - dt.timedelta(days=40), valid_to=NOW - dt.timedelta(days=2))
    add_earning_rule(db, "double", RuleKind.BASE, points_per_unit=2,
                     valid_from=NOW - dt.timedelta(days=2))
    add_earning_rule(db, "dollars", RuleKind.BASE, currency="USD", points_per_unit=9,
                     valid_from=NOW - dt.timedelta(days=400))
    db.flush()


WHEN = [
    pytest.param(dt.timedelta(0), [2], id="now"),
    pytest.param(-dt.timedelta(days=3), [3], id="3 days ago"),
    pytest.param(-dt.timedelta(days=40), [3], id="from the start of a rule"),
    pytest.param(-dt.timedelta(days=40, seconds=1), [1], id="just before"),
    pytest.param(-SNAPSHOT_WINDOW - dt.timedelta(days=200), [1], id="before the snapshot"),
    pytest.param(-dt.timedelta(days=401), [], id="before any rule"),
]


@pytest.mark.parametrize(("ago", "expected"), WHEN)
def test_rules_in_force_then(db, history, ago: dt.timedelta, expected: list[int]) -> None:  # type: ignore[no-untyped-def]
    assert rates(db, NOW + ago) == expected


@pytest.mark.parametrize(("ago", "expected"), WHEN)
def test_a_snapshot_gives_the_same_answers(db, history, ago: dt.timedelta,  # type: ignore[no-untyped-def]
                                          expected: list[int]) -> None:
    with reference_snapshot(db):
        rates(db, NOW)  # the snapshot is read here
        assert rates(db, NOW + ago) == expected


def test_a_snapshot_keeps_what_it_read_until_it_ends(db, history) -> None:  # type: ignore[no-untyped-def]
    with reference_snapshot(db):
        assert rates(db, NOW) == [2]
        add_earning_rule(db, "quadruple", RuleKind.BASE, points_per_unit=4,
                         valid_from=NOW - dt.timedelta(hours=1))
        db.flush()
        assert rates(db, NOW) == [2]  # a batch finishes with the rules it began with
    assert rates(db, NOW) == [4]
