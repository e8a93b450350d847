"""RFM scores 1-5 and the named segments, set-based in SQL (docs/INSIGHT.md).

Tie rule: a member's score is ``1 + 5 * (rank - 1) // n`` where ``rank`` is SQL ``RANK()``
(members with equal values share the lowest rank of their group) over the members ordered from
worst to best, and ``n`` the number of members.  Equal values therefore always get equal scores
(the lower one), and a score depends only on the values, never on row order: re-running gives
the same audience.  The price: when many members share a value (one visit), the scores above it
are skipped (F jumps from 1 to 4 when 60% have one visit), rather than splitting equals.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, case, cast, func, over, select
from sqlalchemy.orm import Session

from loyalty.insight.models import MemberInsight

_mi = MemberInsight.__table__

# First matching row wins.  FM is the rounded mean of F and M: (F + M + 1) // 2.
# (segment, R from, R to, FM from, FM to, F to or None)
SEGMENT_RULES: tuple[tuple[str, int, int, int, int, int | None], ...] = (
    ("Champions", 4, 5, 4, 5, None),
    ("Can't lose", 1, 1, 4, 5, None),
    ("At risk", 1, 2, 3, 5, None),
    ("Loyal", 3, 3, 4, 5, None),
    ("New", 5, 5, 1, 5, 1),
    ("Promising", 4, 4, 1, 5, 1),
    ("Potential loyalist", 4, 5, 1, 3, None),
    ("Need attention", 3, 3, 3, 3, None),
    ("About to sleep", 3, 3, 1, 2, None),
    ("Hibernating", 2, 2, 1, 2, None),
    ("Lost", 1, 1, 1, 2, None),
)
SEGMENTS = tuple(rule[0] for rule in SEGMENT_RULES)


def _score(order_by):  # type: ignore[no-untyped-def]
    rank = over(func.rank(), order_by=order_by)
    return 1 + (5 * (rank - 1)) // over(func.count())


def score_columns(source: Any) -> list[Any]:
    """R, F and M (labelled ``r``, ``f``, ``m``) of each row of ``source``, a table or
    subquery with ``recency_days``, ``frequency`` and ``monetary_minor``, ranked against all
    its rows (window functions)."""
    return [
        cast(_score(source.c.recency_days.desc()), Integer).label("r"),
        cast(_score(source.c.frequency.asc()), Integer).label("f"),
        cast(_score(source.c.monetary_minor.asc()), Integer).label("m"),
    ]


def score_rfm(session: Session) -> None:
    """Give every row of member_insight its R, F and M scores and its segment.

    R ranks recency from oldest to newest, F frequency and M monetary from lowest to highest;
    ties as in the module docstring.  Two UPDATE statements; flushes, never commits.  (The
    nightly rebuild writes the same scores as it inserts the rows, without updating them.)
    """
    session.flush()
    conn = session.connection()
    scores = select(_mi.c.member_id.label("member_id"), *score_columns(_mi)).subquery()
    conn.execute(_mi.update().where(_mi.c.member_id == scores.c.member_id).values(
        r=scores.c.r, f=scores.c.f, m=scores.c.m))
    assign_segments(session)


def assign_segments(session: Session) -> None:
    """Name every scored row's segment from its R, F and M by :data:`SEGMENT_RULES`."""
    session.connection().execute(_mi.update().values(segment=segment_of(_mi.c.r, _mi.c.f,
                                                                         _mi.c.m)))


def segment_of(r: Any, f: Any, m: Any):  # type: ignore[no-untyped-def]
    """The segment's name for scores ``r``, ``f``, ``m`` (columns), by :data:`SEGMENT_RULES`."""
    fm = (f + m + 1) // 2
    whens = []
    for name, r_from, r_to, fm_from, fm_to, f_to in SEGMENT_RULES:
        test = r.between(r_from, r_to) & fm.between(fm_from, fm_to)
        if f_to is not None:
            test = test & (f <= f_to)
        whens.append((test, name))
    return case(*whens, else_=None)
