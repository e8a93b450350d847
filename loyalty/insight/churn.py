"""Churn and value: the BG/NBD + Gamma-Gamma fit on the basket history, and its predictions.

The per-member summary is computed in SQL (one row per member, from the baskets' subtotals);
only that summary reaches numpy, a partition at a time.  Services flush and never commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Date,
    Float,
    Integer,
    MetaData,
    Table,
    bindparam,
    cast,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.orm import Session

from loyalty.baskets.models import Basket
from loyalty.db import UTCDateTime, is_postgres
from loyalty.insight import btyd
from loyalty.insight.aggregates import end_of, purchase_day
from loyalty.insight.models import BtydFit, MemberInsight

TIME_UNITS = {"day": 1, "week": 7}
HORIZON_DAYS = 90

_b, _mi = Basket.__table__, MemberInsight.__table__


@dataclass(frozen=True)
class PurchaseHistory:
    """Per member, counted by purchase day, in one time unit: repeat days ``x``, time of the
    last purchase since the first ``t_x``, age at the end ``age``, mean repeat-day spend."""

    member_ids: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    age: np.ndarray
    mean_repeat_minor: np.ndarray


# Rows fetched per round trip while the summary streams in: a million members' rows as Python
# tuples would cost hundreds of megabytes; numpy arrays of them cost 40.
FETCH_ROWS = 50_000


def purchase_history(session: Session, end: dt.date, unit_days: int) -> PurchaseHistory:
    """The BG/NBD summary of every member's baskets up to the end of ``end``, in SQL: one row
    per member (first and last purchase day as day numbers, purchase days, spend, first day's
    spend), streamed into numpy arrays a partition at a time."""
    postgres = is_postgres(session)
    day = purchase_day(session, _b.c.occurred_at).label("day")
    per_day = (
        select(_b.c.member_id, day, func.sum(_b.c.subtotal_minor).label("spend"))
        .where(_b.c.member_id.is_not(None),
               _b.c.occurred_at < bindparam("cutoff", type_=UTCDateTime()))
        .group_by(_b.c.member_id, day)
    ).cte("per_day")
    per_member = select(
        per_day.c.member_id, func.min(per_day.c.day).label("first_day"),
        func.max(per_day.c.day).label("last_day"), func.count().label("days"),
        # bigint, not PostgreSQL's numeric sum of bigints: Decimal costs numpy a second a 100k
        cast(func.sum(per_day.c.spend), BigInteger).label("spend"),
    ).group_by(per_day.c.member_id).cte("per_member")
    first = per_day.alias("first")
    stmt = (
        select(per_member.c.member_id, _day_number(postgres, per_member.c.first_day),
               _day_number(postgres, per_member.c.last_day),
               per_member.c.days, per_member.c.spend, first.c.spend)
        .join(first, (first.c.member_id == per_member.c.member_id)
              & (first.c.day == per_member.c.first_day))
        .order_by(per_member.c.member_id)
    )
    result = session.execute(stmt.execution_options(yield_per=FETCH_ROWS),
                             {"cutoff": end_of(end)})
    parts = [np.array([tuple(row) for row in rows], dtype=np.float64).reshape(-1, 6)
             for rows in result.partitions()]
    table = np.concatenate(parts) if parts else np.zeros((0, 6))
    return _history(table, _day_number_of(end), unit_days)


def _day_number(postgres: bool, day: Any) -> ColumnElement[int]:
    """A date as whole days since 1970-01-01, so the summary reaches numpy as plain numbers."""
    if postgres:
        return day - cast(literal(_EPOCH.isoformat()), Date)
    return cast(func.julianday(day) - func.julianday(_EPOCH.isoformat()), Integer)


_EPOCH = dt.date(1970, 1, 1)


def _day_number_of(day: dt.date) -> int:
    return (day - _EPOCH).days


def _history(table: np.ndarray, end_day: int, unit_days: int) -> PurchaseHistory:
    member_id, first, last, days, spend, first_spend = table.T
    x = days - 1
    repeat_spend = spend - first_spend
    mean = np.divide(repeat_spend, x, out=np.zeros_like(x), where=x > 0)
    return PurchaseHistory(member_id.astype(np.int64), x, (last - first) / unit_days,
                           (end_day - first) / unit_days, mean)


def fit_btyd(session: Session, calibration_end: dt.date, unit: str = "week") -> BtydFit:
    """Fit BG/NBD on every member's history up to ``calibration_end`` and Gamma-Gamma on the
    repeat buyers' spend; stores and returns the fit.  ``ValueError`` with nothing to fit.
    The Gamma-Gamma parameters stay empty when no member has a repeat purchase with spend."""
    unit_days = TIME_UNITS[unit]
    history = purchase_history(session, calibration_end, unit_days)
    model = btyd.fit_bgnbd(history.x, history.t_x, history.age)
    try:
        spend: btyd.GammaGamma | None = btyd.fit_gamma_gamma(history.x, history.mean_repeat_minor)
    except ValueError:
        spend = None
    fit = BtydFit(
        calibration_end=calibration_end, time_unit_days=unit_days, customers=len(history.x),
        r=model.r, alpha=model.alpha, a=model.a, b=model.b,
        log_likelihood=model.log_likelihood,
        p=spend.p if spend else None, q=spend.q if spend else None,
        v=spend.v if spend else None,
    )
    session.add(fit)
    session.flush()
    return fit


# The predictions, staged on the session's connection until the rebuild's insert reads them.
STAGED = Table(
    "insight_prediction", MetaData(),
    Column("member_id", Integer, primary_key=True),
    Column("p_alive", Float), Column("expected_purchases_90d", Float),
    Column("expected_value_minor", BigInteger),
    prefixes=["TEMPORARY"],
)


def stage_predictions(session: Session, fit: BtydFit, as_of: dt.date) -> Table:
    """Compute every member's predictions as of ``as_of`` and write them to the temporary
    table :data:`STAGED` (PostgreSQL: ``COPY``; SQLite: ``executemany``); returns it.  The
    caller joins it and then calls :func:`drop_staged`."""
    history = purchase_history(session, as_of, fit.time_unit_days)
    model = btyd.BgNbd(fit.r, fit.alpha, fit.a, fit.b, fit.log_likelihood)
    alive = btyd.p_alive(model, history.x, history.t_x, history.age)
    horizon = HORIZON_DAYS / fit.time_unit_days
    purchases = btyd.expected_purchases(model, horizon, history.x, history.t_x, history.age)
    if fit.p is not None and fit.q is not None and fit.v is not None:
        spend_model = btyd.GammaGamma(fit.p, fit.q, fit.v, 0.0)
        spend = btyd.expected_average_spend(spend_model, history.x, history.mean_repeat_minor)
        value = np.rint(purchases * spend)
    else:
        value = np.full_like(purchases, np.nan)
    drop_staged(session)
    conn = session.connection()
    STAGED.create(conn)
    rows = zip(history.member_ids.tolist(), alive.tolist(), purchases.tolist(),
               [None if np.isnan(v) else int(v) for v in value.tolist()], strict=True)
    if is_postgres(session):
        with conn.connection.driver_connection.cursor() as cursor, cursor.copy(
                f"COPY {STAGED.name} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        conn.execute(insert(STAGED), [dict(zip(STAGED.c.keys(), row, strict=True))
                                      for row in rows])
    return STAGED


def drop_staged(session: Session) -> None:
    STAGED.drop(session.connection(), checkfirst=True)
