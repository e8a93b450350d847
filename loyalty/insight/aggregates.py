"""Per-member aggregates, set-based in SQL: one statement rebuilds every member, the same
statement filtered to one member keeps the table current after a checkout.

"As of" a date D: baskets that occurred before the end of D (UTC) count; recency is whole days
from the last purchase's UTC date to D.  Amounts are the lines' ``net_minor`` (after line
discounts; returns are not subtracted); a member's monetary is read from the baskets'
``subtotal_minor``, which is that sum (checkout and the import write it so), so the member
totals read the baskets and not their ten times as many lines.  Baskets without a member do
not count.

The full rebuild writes each table with one ``INSERT ... SELECT ... ORDER BY`` of its key (on
PostgreSQL after a ``TRUNCATE``): rows arrive in key order, so the primary-key index grows at
its right edge instead of being thrashed page by page (measured: 5.4M rows in random order
took minutes more with 128 MB of shared buffers; tests/bench/campaigns.py).
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    bindparam,
    cast,
    delete,
    func,
    insert,
    select,
    text,
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
    """SELECT of the member id and the aggregate columns per member, bound to ``as_of`` and
    ``cutoff`` (and ``member_id`` when ``one``); reads baskets only (``subtotal_minor`` is the
    sum of the basket's lines' ``net_minor``)."""
    as_of = bindparam("as_of", type_=Date)
    monetary = func.coalesce(func.sum(_b.c.subtotal_minor), 0)
    baskets = func.count()
    last = func.max(_b.c.occurred_at)
    stmt = (
        select(
            _b.c.member_id.label("member_id"), as_of.label("as_of"),
            func.min(_b.c.occurred_at).label("first_purchase_at"),
            last.label("last_purchase_at"),
            _days_between(postgres, as_of, _purchase_day(postgres, last)).label("recency_days"),
            baskets.label("frequency"), monetary.label("monetary_minor"),
            (monetary // baskets).label("average_basket_minor"),
        )
        .where(_b.c.member_id.is_not(None),
               _b.c.occurred_at < bindparam("cutoff", type_=UTCDateTime()))
        .group_by(_b.c.member_id)
    )
    return stmt.where(_b.c.member_id == _ONE_MEMBER) if one else stmt


def member_totals(session: Session) -> Select:  # type: ignore[type-arg]
    """Every member's aggregate columns (labelled as :data:`AGGREGATE_COLUMNS`, after
    ``member_id``), to run with :func:`rebuild_params`."""
    return _member_totals(is_postgres(session), False)


def rebuild_params(as_of: dt.date) -> dict[str, Any]:
    return {"as_of": as_of, "cutoff": end_of(as_of)}


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
    if not one:
        stmt = stmt.order_by(_b.c.member_id, _l.c.category_id)  # key order: see the docstring
    if one:
        stmt = stmt.where(_b.c.member_id == _ONE_MEMBER)
    return insert(_mci).from_select(
        ["member_id", "category_id", "spend_minor", "last_purchase_at"], stmt)


_DELETE_CATEGORIES = delete(_mci).where(_mci.c.member_id == _ONE_MEMBER)
_DELETE_MEMBER = delete(_mi).where(_mi.c.member_id == _ONE_MEMBER)
_UPDATE_MEMBER = _mi.update().where(_mi.c.member_id == bindparam("m_id"))


# The rebuild's aggregates have millions of groups (member x category, basket x item): with
# PostgreSQL's default 4 MB they spill to disk in batches.  Set for the rebuild's transaction
# only; the nightly run is one transaction on one connection.
REBUILD_WORK_MEM = "512MB"


def roomy_work_mem(session: Session) -> None:
    """Give this transaction's sorts and hashes :data:`REBUILD_WORK_MEM` (PostgreSQL)."""
    if is_postgres(session):
        session.connection().execute(text(f"SET LOCAL work_mem = '{REBUILD_WORK_MEM}'"))


def clear_insight(session: Session) -> None:
    """Empty both tables.  PostgreSQL: ``TRUNCATE`` (a ``DELETE`` of millions of rows costs as
    much as writing them and leaves as many dead ones); it locks both tables against readers
    until the rebuild commits, so the caller does the slow parts that need no lock first."""
    session.flush()
    if is_postgres(session):
        session.connection().execute(text(f"TRUNCATE {_mci.name}, {_mi.name}"))
    else:
        session.connection().execute(delete(_mci))
        session.connection().execute(delete(_mi))


def insert_members(session: Session, as_of: dt.date, members: Select,  # type: ignore[type-arg]
                   columns: list[str]) -> int:
    """Fill the emptied member_insight from ``members``; returns the rows."""
    conn = session.connection()
    conn.execute(insert(_mi).from_select(columns, members), rebuild_params(as_of))
    # Counted, not the insert's rowcount: psycopg reports -1 for this INSERT ... SELECT.
    return int(conn.execute(select(func.count()).select_from(_mi)).scalar_one())


def insert_categories(session: Session, as_of: dt.date) -> None:
    """Fill the emptied member_category_insight from all lines."""
    session.connection().execute(_category_insert(False), rebuild_params(as_of))


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


