"""RFM scores by quintile with equal values scored equally, and the named segments."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import insert, select

from loyalty.insight.models import MemberInsight
from loyalty.insight.rfm import SEGMENTS, assign_segments, score_rfm
from tests.insight.helpers import add_members

WHEN = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
RECENCY = [0, 0, 5, 10, 20, 40, 80, 160, 320, 640]
FREQUENCY = [1, 1, 1, 1, 1, 1, 2, 2, 3, 5]  # most members came once
MONETARY = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]


def _insight_rows(db, members, order):  # type: ignore[no-untyped-def]
    db.execute(insert(MemberInsight), [
        {"member_id": members[i], "as_of": WHEN.date(), "first_purchase_at": WHEN,
         "last_purchase_at": WHEN, "recency_days": RECENCY[i], "frequency": FREQUENCY[i],
         "monetary_minor": MONETARY[i], "average_basket_minor": 0}
        for i in order
    ])


def _scores(db, members):  # type: ignore[no-untyped-def]
    rows = {row.member_id: (row.r, row.f, row.m) for row in db.scalars(select(MemberInsight))}
    return [rows[m] for m in members]


def test_quintiles_by_rank_with_ties_taking_the_lower_score(app, db):
    members = add_members(db, 10)
    _insight_rows(db, members, range(10))
    score_rfm(db)
    scores = _scores(db, members)
    # score = 1 + 5 * (rank - 1) // n, rank = SQL RANK() from worst to best
    assert [s[0] for s in scores] == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert [s[1] for s in scores] == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]  # six one-visit members tie
    assert [s[2] for s in scores] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_scores_depend_on_values_not_on_row_order_or_reruns(app, db):
    members = add_members(db, 10)
    _insight_rows(db, members, [7, 2, 9, 0, 5, 1, 8, 3, 6, 4])
    score_rfm(db)
    first = _scores(db, members)
    segments = dict(db.execute(select(MemberInsight.member_id, MemberInsight.segment)).all())
    score_rfm(db)
    assert _scores(db, members) == first
    assert dict(db.execute(select(MemberInsight.member_id, MemberInsight.segment)).all()) \
        == segments
    assert [s[1] for s in first] == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]


CASES = [  # (r, f, m) -> segment, FM = (F + M + 1) // 2
    ((5, 5, 5), "Champions"), ((4, 4, 3), "Champions"),
    ((1, 5, 4), "Can't lose"),
    ((2, 3, 3), "At risk"), ((1, 3, 3), "At risk"),
    ((3, 5, 4), "Loyal"),
    ((5, 1, 1), "New"), ((5, 1, 5), "New"),
    ((4, 1, 2), "Promising"),
    ((5, 3, 2), "Potential loyalist"), ((4, 2, 3), "Potential loyalist"),
    ((3, 3, 3), "Need attention"),
    ((3, 1, 2), "About to sleep"),
    ((2, 2, 1), "Hibernating"),
    ((1, 1, 2), "Lost"),
]


def test_segment_rule_table(app, db):
    combos = list(itertools.product(range(1, 6), repeat=3))
    members = add_members(db, len(combos))
    db.execute(insert(MemberInsight), [
        {"member_id": member, "as_of": WHEN.date(), "first_purchase_at": WHEN,
         "last_purchase_at": WHEN, "recency_days": 0, "frequency": 1, "monetary_minor": 1,
         "average_basket_minor": 1, "r": r, "f": f, "m": m}
        for member, (r, f, m) in zip(members, combos, strict=True)
    ])
    assign_segments(db)
    named = {combo: segment for combo, segment in zip(
        combos, [dict(db.execute(select(MemberInsight.member_id, MemberInsight.segment)).all())[m]
                 for m in members], strict=True)}
    for combo, segment in CASES:
        assert named[combo] == segment, combo
    assert set(named.values()) == set(SEGMENTS)  # every score has a name, every name is used
