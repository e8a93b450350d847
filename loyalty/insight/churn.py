"""Churn and value: the BG/NBD + Gamma-Gamma fit on the basket history, and its predictions.

The per-member summary is computed in SQL (one row per member); only that summary reaches
numpy.  Services flush and never commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from loyalty.baskets.models import Basket, BasketLine
from loyalty.db import UTCDateTime
from loyalty.insight import btyd
from loyalty.insight.aggregates import end_of, purchase_day
from loyalty.insight.models import BtydFit, MemberInsight

TIME_UNITS = {"day": 1, "week": 7}
HORIZON_DAYS = 90

_b, _l, _mi = Basket.__table__, BasketLine.__table__, MemberInsight.__table__


@dataclass(frozen=True)
class PurchaseHistory:
    """Per member, counted by purchase day, in one time unit: repeat days ``x``, time of the
    last purchase since the first ``t_x``, age at the end ``age``, mean repeat-day spend."""

    member_ids: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    age: np.ndarray
    mean_repeat_minor: np.ndarray


def purchase_history(session: Session, end: dt.date, unit_days: int) -> PurchaseHistory:
    """The BG/NBD summary of every member's baskets up to the end of ``end``, in SQL: one row
    per member (first and last purchase day, purchase days, spend, first day's spend)."""
    day = purchase_day(session, _b.c.occurred_at).label("day")
    per_day = (
        select(_b.c.member_id, day, func.coalesce(func.sum(_l.c.net_minor), 0).label("spend"))
        .select_from(_b.outerjoin(_l, _l.c.basket_id == _b.c.id))
        .where(_b.c.member_id.is_not(None),
               _b.c.occurred_at < bindparam("cutoff", type_=UTCDateTime()))
        .group_by(_b.c.member_id, day)
    ).cte("per_day")
    per_member = select(
        per_day.c.member_id, func.min(per_day.c.day).label("first_day"),
        func.max(per_day.c.day).label("last_day"), func.count().label("days"),
        func.sum(per_day.c.spend).label("spend"),
    ).group_by(per_day.c.member_id).cte("per_member")
    first = per_day.alias("first")
    stmt = (
        select(per_member.c.member_id, per_member.c.first_day, per_member.c.last_day,
               per_member.c.days, per_member.c.spend, first.c.spend)
        .join(first, (first.c.member_id == per_member.c.member_id)
              & (first.c.day == per_member.c.first_day))
        .order_by(per_member.c.member_id)
    )
    rows = session.execute(stmt, {"cutoff": end_of(end)}).all()
    return _history(rows, end, unit_days)


def _history(rows: list, end: dt.date, unit_days: int) -> PurchaseHistory:  # type: ignore[type-arg]
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    first = [_as_date(row[1]) for row in rows]
    last = [_as_date(row[2]) for row in rows]
    x = np.array([row[3] - 1 for row in rows], dtype=np.float64)
    repeat_spend = np.array([row[4] - row[5] for row in rows], dtype=np.float64)
    t_x = np.array([(b - a).days for a, b in zip(first, last, strict=True)]) / unit_days
    age = np.array([(end - a).days for a in first], dtype=np.float64) / unit_days
    mean = np.divide(repeat_spend, x, out=np.zeros_like(x), where=x > 0)
    return PurchaseHistory(ids, x, np.asarray(t_x, dtype=np.float64), age, mean)


def _as_date(value: dt.date | str) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


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


def store_predictions(session: Session, fit: BtydFit, as_of: dt.date) -> None:
    """p_alive, expected purchases in the next 90 days and their expected value, per member."""
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
    rows = [
        {"id": int(mid), "alive": float(pa), "purchases": float(ep),
         "value": None if np.isnan(ev) else int(ev)}
        for mid, pa, ep, ev in zip(history.member_ids, alive, purchases, value, strict=True)
    ]
    stmt = _mi.update().where(_mi.c.member_id == bindparam("id")).values(
        p_alive=bindparam("alive"), expected_purchases_90d=bindparam("purchases"),
        expected_value_minor=bindparam("value"))
    session.connection().execute(stmt, rows)
