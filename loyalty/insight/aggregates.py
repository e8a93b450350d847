"""Per-member aggregates, set-based in SQL: one statement rebuilds every member, the same
statement filtered to one member keeps the table current after a checkout.

"As of" a date D: baskets that occurred before the end of D (UTC) count; recency is whole days
from the last purchase's UTC date to D.  Amounts are the lines' ``net_minor`` (after line
discounts; returns are not subtracted).  Baskets without a member do not count.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    bindparam,
    cast,
    delete,
    distinct,
    func,
    insert,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from loyalty.baskets.models import Basket, BasketLine
from loyalty.db import UTCDateTime, is_postgres
from loyalty.insight.models import MemberCategoryInsight, MemberInsight

_b, _l = Basket.__table__, BasketLine.__table__
_mi, _mci = MemberInsight.__table__, MemberCategoryInsight.__table__

# Columns the incremental path keeps current; the rest (scores, model outputs) are the night's.
AGGREGATE_COLUMNS = ("as_of", "first_purchase_at", "last_purchase_at", "recency_days",
                     "frequency", "monetary_minor", "average_basket_minor")


def end_of(as_of: dt.date) -> dt.datetime:
    """The first instant after ``as_of`` (UTC): baskets before it count."""
    return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def purchase_day(session: Session, column: Any) -> ColumnElement[dt.date]:
    """A timestamp's UTC date, on either database."""
    return _purchase_day(is_postgres(session), column)


def _purchase_day(postgres: bool, column: Any) -> ColumnElement[dt.date]:
    if postgres:
        return cast(column, Date)
    return type_coerce(func.date(column), Date)


def _days_between(postgres: bool, as_of: ColumnElement[Any], day: ColumnElement[Any]
                  ) -> ColumnElement[int]:
    """Whole days from ``day`` to ``as_of`` (both dates)."""
    if postgres:
        return cast(as_of, Date) - cast(day, Date)
    return cast(func.julianday(as_of) - func.julianday(day), Integer)


# The one member's statements are built once per dialect: building them costs more than
# running them (the refresh runs after every checkout).
_ONE_MEMBER = bindparam("member_id")


@functools.cache
def _member_totals(postgres: bool, one: bool):  # type: ignore[no-untyped-def]
    """SELECT of the aggregate columns per member, bound to ``as_of`` and ``cutoff`` (and
    ``member_id`` when ``one``)."""
    as_of = bindparam("as_of", type_=Date)
    monetary = func.coalesce(func.sum(_l.c.net_minor), 0)
    baskets = func.count(distinct(_b.c.id))
    last = func.max(_b.c.occurred_at)
    stmt = (
        select(
            _b.c.member_id, as_of, func.min(_b.c.occurred_at), last,
            _days_between(postgres, as_of, _purchase_day(postgres, last)),
            baskets, monetary, monetary // baskets,
        )
        .select_from(_b.outerjoin(_l, _l.c.basket_id == _b.c.id))
        .where(_b.c.member_id.is_not(None),
               _b.c.occurred_at < bindparam("cutoff", type_=UTCDateTime()))
        .group_by(_b.c.member_id)
    )
    return stmt.where(_b.c.member_id == _ONE_MEMBER) if one else stmt


@functools.cache
def _category_insert(one: bool):  # type: ignore[no-untyped-def]
    stmt = (
        select(_b.c.member_id, _l.c.category_id, func.sum(_l.c.net_minor),
               func.max(_b.c.occurred_at))
        .select_from(_b.join(_l, _l.c.basket_id == _b.c.id))
        .where(_b.c.member_id.is_not(None), _l.c.category_id.is_not(None),
               _b.c.occurred_at < bindparam("cutoff", type_=UTCDateTime()))
        .group_by(_b.c.member_id, _l.c.category_id)
    )
    if one:
        stmt = stmt.where(_b.c.member_id == _ONE_MEMBER)
    return insert(_mci).from_select(
        ["member_id", "category_id", "spend_minor", "last_purchase_at"], stmt)


_DELETE_CATEGORIES = delete(_mci).where(_mci.c.member_id == _ONE_MEMBER)
_DELETE_MEMBER = delete(_mi).where(_mi.c.member_id == _ONE_MEMBER)
_UPDATE_MEMBER = _mi.update().where(_mi.c.member_id == bindparam("m_id"))


def rebuild_aggregates(session: Session, as_of: dt.date) -> int:
    """Replace every member's aggregate and per-category rows by those as of ``as_of``.

    Two INSERT ... SELECT statements over all lines; nothing is loaded into Python.  Scores and
    model outputs are cleared (the caller recomputes them).  Flushes, never commits.  Returns
    the number of members with a purchase.
    """
    session.flush()
    conn = session.connection()
    params = {"as_of": as_of, "cutoff": end_of(as_of)}
    conn.execute(delete(_mci))
    conn.execute(delete(_mi))
    conn.execute(insert(_mi).from_select(
        ["member_id", *AGGREGATE_COLUMNS], _member_totals(is_postgres(session), False)), params)
    conn.execute(_category_insert(False), params)
    return int(conn.execute(select(func.count()).select_from(_mi)).scalar_one())


def refresh_member(session: Session, member_id: int, as_of: dt.date) -> bool:
    """Recompute one member's aggregate and per-category rows as of ``as_of``, reading only
    that member's baskets (``basket.member_id`` is indexed).

    Keeps the member's RFM scores, segment and model outputs from the last rebuild (they are
    ranks against every member, recomputed nightly).  Idempotent: running it twice, or for
    baskets in any order, gives the same rows.  Flushes, never commits.  False when the member
    has no basket up to ``as_of``.
    """
    session.flush()
    conn = session.connection()
    params = {"as_of": as_of, "cutoff": end_of(as_of), "member_id": member_id}
    row = conn.execute(_member_totals(is_postgres(session), True), params).first()
    conn.execute(_DELETE_CATEGORIES, {"member_id": member_id})
    conn.execute(_category_insert(True), params)
    if row is None:
        conn.execute(_DELETE_MEMBER, {"member_id": member_id})
        return False
    values = dict(zip(AGGREGATE_COLUMNS, row[1:], strict=True))
    updated = conn.execute(_UPDATE_MEMBER, {"m_id": member_id, **values})
    if updated.rowcount == 0:
        conn.execute(insert(_mi).values(member_id=member_id, **values))
    return True


