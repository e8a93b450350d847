"""Affinities for cross-sell: support, confidence and lift of category pairs and product pairs,
computed set-based in the database (docs/INSIGHT.md, "Affinities").

For items A and B over the N baskets up to the as-of date that hold at least one such item:
support = baskets with both / N, confidence(A -> B) = baskets with both / baskets with A,
lift = confidence / (baskets with B / N).  Only pairs held together by at least
``ceil(min_support * N)`` baskets are kept (and at least one basket).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy import Float, bindparam, cast, delete, distinct, func, insert, literal, select
from sqlalchemy.orm import Session

from loyalty.baskets.models import Basket, BasketLine
from loyalty.db import UTCDateTime
from loyalty.insight.aggregates import end_of
from loyalty.insight.models import Affinity

KINDS = {"category": BasketLine.category_id, "product": BasketLine.product_id}
DEFAULT_MIN_SUPPORT = 0.001

_b, _l, _aff = Basket.__table__, BasketLine.__table__, Affinity.__table__


def rebuild_affinities(session: Session, as_of: dt.date,
                       min_support: float = DEFAULT_MIN_SUPPORT) -> dict[str, int]:
    """Replace the affinity table by the rules over baskets up to ``as_of``; returns the number
    of rules per kind.  Per kind: one count of baskets and one INSERT ... SELECT over a self-join
    of (basket, item); nothing is loaded into Python.  Flushes, never commits."""
    if not 0 <= min_support <= 1:
        raise ValueError("min_support is a share of baskets, between 0 and 1")
    session.flush()
    conn = session.connection()
    conn.execute(delete(_aff))
    cutoff = end_of(as_of)
    made = {}
    for kind, column in KINDS.items():
        items = _basket_items(column)
        total = conn.execute(select(func.count(distinct(items.c.basket_id))),
                             {"cutoff": cutoff}).scalar_one()
        if total:
            conn.execute(insert(_aff).from_select(
                ["kind", "antecedent_id", "consequent_id", "baskets", "support", "confidence",
                 "lift"], _rules(kind, items)),
                {"cutoff": cutoff, "total": total,
                 "min_baskets": max(1, math.ceil(min_support * total))})
        made[kind] = conn.execute(select(func.count()).select_from(_aff)
                                  .where(_aff.c.kind == kind)).scalar_one()
    return made


def _basket_items(column: Any):  # type: ignore[no-untyped-def]
    """(basket, item) once each, for baskets before the cutoff."""
    item = _l.c[column.key]
    return (
        select(_l.c.basket_id.label("basket_id"), item.label("item"))
        .join(_b, _b.c.id == _l.c.basket_id)
        .where(item.is_not(None), _b.c.occurred_at < bindparam("cutoff", type_=UTCDateTime()))
        .distinct()
    ).cte("basket_items")


def _rules(kind: str, items):  # type: ignore[no-untyped-def]
    counts = (select(items.c.item, func.count().label("baskets"))
              .group_by(items.c.item)).cte("item_baskets")
    a, b = items.alias("a"), items.alias("b")
    pairs = (
        select(a.c.item.label("x"), b.c.item.label("y"), func.count().label("both"))
        .join(b, (b.c.basket_id == a.c.basket_id) & (b.c.item != a.c.item))
        .group_by(a.c.item, b.c.item)
        .having(func.count() >= bindparam("min_baskets"))
    ).cte("pairs")
    cx, cy = counts.alias("cx"), counts.alias("cy")
    total = cast(bindparam("total"), Float)
    both = cast(pairs.c.both, Float)
    return (
        select(literal(kind), pairs.c.x, pairs.c.y, pairs.c.both, both / total,
               both / cast(cx.c.baskets, Float),
               both * total / (cast(cx.c.baskets, Float) * cast(cy.c.baskets, Float)))
        .join(cx, cx.c.item == pairs.c.x)
        .join(cy, cy.c.item == pairs.c.y)
    )


def top_affinities(session: Session, kind: str, item_id: int, limit: int = 10) -> list[Affinity]:
    """The strongest rules from ``item_id`` (a category or product id): highest lift first,
    then confidence, then the consequent's id so equal rules come in a stable order."""
    return list(session.scalars(
        select(Affinity)
        .where(Affinity.kind == kind, Affinity.antecedent_id == item_id)
        .order_by(Affinity.lift.desc(), Affinity.confidence.desc(), Affinity.consequent_id)
        .limit(limit)
    ))
