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

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    Table,
    bindparam,
    cast,
    delete,
    distinct,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session

from loyalty.baskets.models import Basket, BasketLine
from loyalty.db import UTCDateTime, is_postgres
from loyalty.insight.aggregates import end_of, roomy_work_mem
from loyalty.insight.models import Affinity

KINDS = {"category": BasketLine.category_id, "product": BasketLine.product_id}
DEFAULT_MIN_SUPPORT = 0.001

_b, _l, _aff = Basket.__table__, BasketLine.__table__, Affinity.__table__


# Each basket's distinct items, staged once per kind: counted three times (baskets, per item,
# per pair), and the pair count is a self-join of it.
_ITEMS = Table(
    "affinity_basket_item", MetaData(),
    Column("basket_id", Integer, nullable=False), Column("item", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)


def rebuild_affinities(session: Session, as_of: dt.date,
                       min_support: float = DEFAULT_MIN_SUPPORT) -> dict[str, int]:
    """Replace the affinity table by the rules over baskets up to ``as_of``; returns the number
    of rules per kind.  Per kind: the (basket, item) pairs staged in a temporary table, one
    count of baskets and one INSERT ... SELECT over its self-join; nothing is loaded into
    Python.  Flushes, never commits.

    The self-join counts each unordered pair once (``a.item < b.item``) and only among items
    that reach the minimum support alone (a pair is never in more baskets than either of its
    items: the Apriori pruning); both rules of a pair come from that one count.
    """
    if not 0 <= min_support <= 1:
        raise ValueError("min_support is a share of baskets, between 0 and 1")
    session.flush()
    conn = session.connection()
    roomy_work_mem(session)
    conn.execute(delete(_aff))
    cutoff = end_of(as_of)
    made = {}
    for kind, column in KINDS.items():
        _ITEMS.drop(conn, checkfirst=True)
        _ITEMS.create(conn)
        conn.execute(insert(_ITEMS).from_select(["basket_id", "item"], _basket_items(column)),
                     {"cutoff": cutoff})
        if is_postgres(session):
            conn.execute(text(f"ANALYZE {_ITEMS.name}"))
        total = conn.execute(select(func.count(distinct(_ITEMS.c.basket_id)))).scalar_one()
        if total:
            conn.execute(insert(_aff).from_select(
                ["kind", "antecedent_id", "consequent_id", "baskets", "support", "confidence",
                 "lift"], _rules(kind)),
                {"total": total, "min_baskets": max(1, math.ceil(min_support * total))})
        made[kind] = conn.execute(select(func.count()).select_from(_aff)
                                  .where(_aff.c.kind == kind)).scalar_one()
    _ITEMS.drop(conn)
    return made


def _basket_items(column: Any):  # type: ignore[no-untyped-def]
    """(basket, item) once each, for baskets before the cutoff."""
    item = _l.c[column.key]
    return (
        select(_l.c.basket_id, item)
        .join(_b, _b.c.id == _l.c.basket_id)
        .where(item.is_not(None), _b.c.occurred_at < bindparam("cutoff", type_=UTCDateTime()))
        .group_by(_l.c.basket_id, item)
    )


def _rules(kind: str):  # type: ignore[no-untyped-def]
    enough = func.count() >= bindparam("min_baskets")
    counts = (select(_ITEMS.c.item, func.count().label("baskets"))
              .group_by(_ITEMS.c.item).having(enough)).cte("item_baskets")
    frequent = select(counts.c.item)
    a, b = _ITEMS.alias("a"), _ITEMS.alias("b")
    pairs = (
        select(a.c.item.label("x"), b.c.item.label("y"), func.count().label("both"))
        .join(b, (b.c.basket_id == a.c.basket_id) & (b.c.item > a.c.item))
        .where(a.c.item.in_(frequent), b.c.item.in_(frequent))
        .group_by(a.c.item, b.c.item)
        .having(enough)
    ).cte("pairs")
    rules = union_all(
        select(pairs.c.x.label("x"), pairs.c.y.label("y"), pairs.c.both.label("both")),
        select(pairs.c.y, pairs.c.x, pairs.c.both),
    ).subquery("rules")
    cx, cy = counts.alias("cx"), counts.alias("cy")
    total = cast(bindparam("total"), Float)
    both = cast(rules.c.both, Float)
    return (
        select(literal(kind), rules.c.x, rules.c.y, rules.c.both, both / total,
               both / cast(cx.c.baskets, Float),
               both * total / (cast(cx.c.baskets, Float) * cast(cy.c.baskets, Float)))
        .join(cx, cx.c.item == rules.c.x)
        .join(cy, cy.c.item == rules.c.y)
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
