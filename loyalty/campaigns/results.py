"""A campaign's results: its treatment group against its holdout over the attribution window
(docs/CAMPAIGNS.md, "Results").  Reads only; set-based in SQL, the statistics in Python.

The rules, in short (the doc says why):

* **Groups.**  Every target of every run of the campaign counts once per run: the holdout
  group is the targets held out, the treatment group every other target, whatever its outcome
  (intention to treat: a member the budget or the contact limit left out is still in the
  treatment group, since the holdout was drawn from the whole audience; comparing only the
  members who got a coupon with the holdout would compare unlike groups).
* **Window.**  A target's baskets from its run's ``planned_at`` for ``campaign.attribution_days``
  days, cut at ``as_of`` while the window is still open (the same cut for both groups).
* **Spend** of a basket: its lines' ``net_minor`` (after line discounts, before coupon
  discounts and points) less the share of each line that was returned (``returned_quantity``),
  whenever the return happened.  A **visit** is a basket; a return does not undo it.
* **Incremental revenue** = (treatment spend per member - holdout spend per member) x the
  treatment group's members, with a 95% interval from Welch's standard error of the difference
  of the two means (Welch-Satterthwaite degrees of freedom, Student's t).
* **Cost**: the coupon discounts given on the campaign's redeemed coupons (a basket's
  ``coupon_discount_minor`` shared equally among the money coupons redeemed on it), plus the
  bonus points of its redeemed bonus-points coupons valued at ``point_value_minor`` each.
* **ROI** = (incremental revenue - cost) / cost; its interval is the revenue interval put
  through the same formula (the cost is counted, not estimated).

With a store, only baskets and redemptions in that store count; the groups keep every target
(a member is in the campaign wherever they shop).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from scipy import stats
from sqlalchemy import BigInteger, Float, and_, case, cast, func, select
from sqlalchemy.orm import Session, aliased

from loyalty.baskets.models import Basket, BasketLine
from loyalty.campaigns.models import Campaign, CampaignRun, CampaignTarget
from loyalty.coupons.models import Coupon, CouponStatus, OfferKind
from loyalty.db import is_postgres, utcnow
from loyalty.errors import NotFound
from loyalty.insight.aggregates import purchase_day
from loyalty.stores.models import Store

CONFIDENCE = 0.95
MIN_GROUP = 2  # members a group needs for a standard deviation, hence an interval


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class GroupResult:
    members: int  # targets (member x run)
    visits: int
    spend_minor: int
    visits_per_member: float | None
    spend_per_member_minor: float | None
    spend_sd_minor: float | None  # standard deviation of spend per member


@dataclass(frozen=True)
class Redemptions:
    issued: int  # the campaign's coupons, whatever became of them
    redeemed: int  # of those, redeemed (in the store, when one is asked)
    rate: float | None


@dataclass(frozen=True)
class Cost:
    discount_minor: int
    bonus_points: int
    bonus_points_minor: int
    total_minor: int


@dataclass(frozen=True)
class DayRedemptions:
    date: dt.date
    redemptions: int
    discount_minor: int


@dataclass(frozen=True)
class DaySpend:
    """Spend per member from the window's start to the end of ``day`` (0: the first 24 hours
    after the run was planned)."""

    day: int
    treatment_minor: float | None
    holdout_minor: float | None


@dataclass(frozen=True)
class CampaignResults:
    campaign_id: int
    name: str
    status: str
    currency: str
    store_id: int | None
    as_of: dt.datetime
    attribution_days: int
    runs: int
    window_start: dt.datetime | None  # the first run's planned_at
    window_end: dt.datetime | None  # the last run's window end
    window_complete: bool
    treatment: GroupResult
    holdout: GroupResult
    redemptions: Redemptions
    cost: Cost
    uplift_per_member_minor: float | None
    uplift_interval: Interval | None
    incremental_revenue_minor: float | None
    incremental_revenue_interval: Interval | None
    p_value: float | None
    roi: float | None
    roi_interval: Interval | None
    enough_data: bool
    notes: list[str] = field(default_factory=list)
    redemptions_by_day: list[DayRedemptions] = field(default_factory=list)
    cumulative_spend_by_day: list[DaySpend] = field(default_factory=list)


def campaign_results(
    session: Session, campaign_id: int, *, store_id: int | None = None,
    point_value_minor: int = 1, as_of: dt.datetime | None = None,
) -> CampaignResults:
    """The campaign's results as of ``as_of`` (now by default), optionally in one store."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id}", code_hint="unknown_campaign")
    if store_id is not None and session.get(Store, store_id) is None:
        raise NotFound(f"no store {store_id}", code_hint="unknown_store")
    as_of = as_of or utcnow()
    runs = session.execute(select(func.count(), func.min(CampaignRun.planned_at),
                                  func.max(CampaignRun.planned_at))
                           .where(CampaignRun.campaign_id == campaign_id)).one()
    days = campaign.attribution_days
    window_end = runs[2] + dt.timedelta(days=days) if runs[2] else None
    per_basket = _window_baskets(session, campaign, store_id, as_of)
    groups = _groups(session, campaign_id, per_basket)
    treatment, holdout = groups.get(False, _EMPTY), groups.get(True, _EMPTY)
    redemptions = _redemptions(session, campaign_id, store_id)
    cost = _cost(session, campaign_id, store_id, point_value_minor)
    estimate = _estimate(treatment, holdout, cost.total_minor)
    return CampaignResults(
        campaign_id=campaign.id, name=campaign.name, status=str(campaign.status),
        currency=campaign.currency, store_id=store_id, as_of=as_of, attribution_days=days,
        runs=runs[0], window_start=runs[1], window_end=window_end,
        window_complete=window_end is not None and window_end <= as_of,
        treatment=_group_result(treatment), holdout=_group_result(holdout),
        redemptions=redemptions, cost=cost, **estimate,
        redemptions_by_day=_redemptions_by_day(session, campaign_id, store_id),
        cumulative_spend_by_day=_cumulative(session, per_basket, days, as_of, runs[1],
                                            treatment.n, holdout.n),
    )


# --- the two groups ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sums:
    n: int = 0
    visits: int = 0
    spend: int = 0
    spend_sq: float = 0.0

    @property
    def mean(self) -> float | None:
        return self.spend / self.n if self.n else None

    @property
    def variance(self) -> float | None:
        """Sample variance of spend per member (n - 1), from the sums; never negative."""
        if self.n < MIN_GROUP:
            return None
        return max(0.0, (self.spend_sq - self.spend * self.spend / self.n) / (self.n - 1))


_EMPTY = _Sums()


def _offset_days(session: Session, later: Any, earlier: Any) -> Any:
    """Days (fractional) from ``earlier`` to ``later``, two timestamps, on either database."""
    if is_postgres(session):
        return func.extract("epoch", later - earlier) / 86400.0
    return func.julianday(later) - func.julianday(earlier)


def _window_baskets(session: Session, campaign: Campaign, store_id: int | None,
                    as_of: dt.datetime) -> Any:
    """One row per (target, basket in its window): target id, holdout flag, the basket's day
    in the window, its spend net of returns."""
    offset = _offset_days(session, Basket.occurred_at, CampaignRun.planned_at)
    kept = cast(BasketLine.quantity - BasketLine.returned_quantity, BigInteger)
    line_spend = cast(BasketLine.net_minor, BigInteger) * kept / func.nullif(
        BasketLine.quantity, 0)
    conditions = [
        CampaignRun.campaign_id == campaign.id,
        Basket.occurred_at >= CampaignRun.planned_at,
        Basket.occurred_at < as_of,
        offset < campaign.attribution_days,
    ]
    if store_id is not None:
        conditions.append(Basket.store_id == store_id)
    return (
        select(CampaignTarget.id.label("target_id"), CampaignTarget.holdout.label("holdout"),
               Basket.id.label("basket_id"), cast(func.floor(offset), BigInteger).label("day"),
               func.coalesce(func.sum(line_spend), 0).label("spend"))
        .select_from(CampaignTarget)
        .join(CampaignRun, CampaignRun.id == CampaignTarget.run_id)
        .join(Basket, Basket.member_id == CampaignTarget.member_id)
        .outerjoin(BasketLine, BasketLine.basket_id == Basket.id)
        .where(and_(*conditions))
        .group_by(CampaignTarget.id, CampaignTarget.holdout, Basket.id, Basket.occurred_at,
                  CampaignRun.planned_at)
    ).subquery("window_baskets")


def _groups(session: Session, campaign_id: int, per_basket: Any) -> dict[bool, _Sums]:
    per_target = (
        select(CampaignTarget.holdout.label("holdout"),
               func.count(per_basket.c.basket_id).label("visits"),
               cast(func.coalesce(func.sum(per_basket.c.spend), 0), BigInteger).label("spend"))
        .select_from(CampaignTarget)
        .join(CampaignRun, CampaignRun.id == CampaignTarget.run_id)
        .outerjoin(per_basket, per_basket.c.target_id == CampaignTarget.id)
        .where(CampaignRun.campaign_id == campaign_id)
        .group_by(CampaignTarget.id, CampaignTarget.holdout)
    ).subquery("per_target")
    spend = cast(per_target.c.spend, Float)
    rows = session.execute(
        select(per_target.c.holdout, func.count(), func.sum(per_target.c.visits),
               func.sum(per_target.c.spend), func.sum(spend * spend))
        .group_by(per_target.c.holdout)
    ).all()
    return {bool(h): _Sums(int(n), int(v or 0), int(s or 0), float(sq or 0))
            for h, n, v, s, sq in rows}


def _group_result(sums: _Sums) -> GroupResult:
    variance = sums.variance
    return GroupResult(
        members=sums.n, visits=sums.visits, spend_minor=sums.spend,
        visits_per_member=sums.visits / sums.n if sums.n else None,
        spend_per_member_minor=sums.mean,
        spend_sd_minor=math.sqrt(variance) if variance is not None else None,
    )


def welch_interval(mean_t: float, var_t: float, n_t: int, mean_h: float, var_h: float, n_h: int,
                   confidence: float = CONFIDENCE) -> tuple[float, Interval, float]:
    """The difference of two means, its interval (Welch) and the two-sided p-value."""
    diff = mean_t - mean_h
    v_t, v_h = var_t / n_t, var_h / n_h
    se = math.sqrt(v_t + v_h)
    if se == 0:  # every member of both groups spent the same: no spread, no doubt
        return diff, Interval(diff, diff), 0.0 if diff else 1.0
    df = (v_t + v_h) ** 2 / (v_t ** 2 / (n_t - 1) + v_h ** 2 / (n_h - 1))
    t = float(stats.t.ppf(0.5 + confidence / 2, df))
    p = float(2 * stats.t.sf(abs(diff) / se, df))
    return diff, Interval(diff - t * se, diff + t * se), p


def _estimate(treatment: _Sums, holdout: _Sums, cost: int) -> dict[str, Any]:
    none: dict[str, Any] = dict(
        uplift_per_member_minor=None, uplift_interval=None, incremental_revenue_minor=None,
        incremental_revenue_interval=None, p_value=None, roi=None, roi_interval=None)
    if treatment.n < MIN_GROUP or holdout.n < MIN_GROUP:
        return {**none, "enough_data": False, "notes": [
            f"not enough data: each group needs at least {MIN_GROUP} members "
            f"(treatment {treatment.n}, holdout {holdout.n})"]}
    diff, interval, p = welch_interval(
        treatment.mean or 0.0, treatment.variance or 0.0, treatment.n,
        holdout.mean or 0.0, holdout.variance or 0.0, holdout.n)
    revenue = Interval(interval.low * treatment.n, interval.high * treatment.n)
    out = {**none, "uplift_per_member_minor": diff, "uplift_interval": interval, "p_value": p,
           "incremental_revenue_minor": diff * treatment.n,
           "incremental_revenue_interval": revenue, "enough_data": True, "notes": []}
    if cost > 0:
        out["roi"] = (diff * treatment.n - cost) / cost
        out["roi_interval"] = Interval((revenue.low - cost) / cost, (revenue.high - cost) / cost)
    else:
        out["notes"].append("no ROI: nothing has cost anything yet (no coupon redeemed)")
    return out


# --- redemptions and cost ---------------------------------------------------------------------


def _redeemed(campaign_id: int, store_id: int | None) -> list[Any]:
    where = [Coupon.campaign_id == campaign_id, Coupon.status == CouponStatus.REDEEMED]
    if store_id is not None:
        where.append(Coupon.redeemed_basket_id.in_(
            select(Basket.id).where(Basket.store_id == store_id)))
    return where


def _redemptions(session: Session, campaign_id: int, store_id: int | None) -> Redemptions:
    issued = session.scalar(select(func.count()).select_from(Coupon)
                            .where(Coupon.campaign_id == campaign_id)) or 0
    redeemed = session.scalar(select(func.count()).select_from(Coupon)
                              .where(*_redeemed(campaign_id, store_id))) or 0
    return Redemptions(issued, redeemed, redeemed / issued if issued else None)


def _discount_shares(campaign_id: int, store_id: int | None) -> Any:
    """Per basket on which the campaign's coupons were redeemed: the campaign's share of the
    basket's coupon discount (its money coupons over all money coupons redeemed there)."""
    # Points offers take no money off: they must not take a share of the basket's discount.
    money = Coupon.kind.not_in((OfferKind.BONUS_POINTS, OfferKind.POINTS_MULTIPLIER))
    mine = (select(Coupon.redeemed_basket_id.label("basket_id"),
                   func.count().label("mine"))
            .where(*_redeemed(campaign_id, store_id), money)
            .group_by(Coupon.redeemed_basket_id)).subquery("mine")
    every = (select(Coupon.redeemed_basket_id.label("basket_id"), func.count().label("every"))
             .where(Coupon.status == CouponStatus.REDEEMED, money,
                    Coupon.redeemed_basket_id.in_(select(mine.c.basket_id)))
             .group_by(Coupon.redeemed_basket_id)).subquery("every")
    return (select(Basket.id.label("basket_id"), Basket.occurred_at.label("occurred_at"),
                   (cast(Basket.coupon_discount_minor, BigInteger) * mine.c.mine
                    / every.c.every).label("discount"))
            .join(mine, mine.c.basket_id == Basket.id)
            .join(every, every.c.basket_id == Basket.id)).subquery("shares")


def _cost(session: Session, campaign_id: int, store_id: int | None,
          point_value_minor: int) -> Cost:
    shares = _discount_shares(campaign_id, store_id)
    discount = int(session.scalar(select(func.coalesce(func.sum(shares.c.discount), 0))) or 0)
    points = int(session.scalar(
        select(func.coalesce(func.sum(Coupon.bonus_points), 0))
        .where(*_redeemed(campaign_id, store_id), Coupon.kind == OfferKind.BONUS_POINTS)) or 0)
    points += _multiplier_points(session, campaign_id, store_id)
    valued = points * point_value_minor
    return Cost(discount, points, valued, discount + valued)


def _multiplier_points(session: Session, campaign_id: int, store_id: int | None) -> int:
    """The extra points the campaign's multiplier coupons gave.  They land in the basket's
    ``bonus_points`` (known only once the lines have earned), not on the coupon: the campaign's
    share is what the flat bonus-points coupons redeemed on the basket do not explain, split
    evenly among the basket's multiplier coupons."""
    ours = (select(Coupon.redeemed_basket_id.label("basket_id"), func.count().label("n"))
            .where(*_redeemed(campaign_id, store_id),
                   Coupon.kind == OfferKind.POINTS_MULTIPLIER)
            .group_by(Coupon.redeemed_basket_id).subquery())
    on_basket = aliased(Coupon)
    flat = func.coalesce(func.sum(case(
        (on_basket.kind == OfferKind.BONUS_POINTS, on_basket.bonus_points), else_=0)), 0)
    multipliers = func.sum(case((on_basket.kind == OfferKind.POINTS_MULTIPLIER, 1), else_=0))
    rows = session.execute(
        select(Basket.bonus_points, ours.c.n, flat, multipliers)
        .join(ours, ours.c.basket_id == Basket.id)
        .join(on_basket, and_(on_basket.redeemed_basket_id == Basket.id,
                              on_basket.status == CouponStatus.REDEEMED))
        .group_by(Basket.id, Basket.bonus_points, ours.c.n)).all()
    return sum(max(0, bonus - int(flat_)) * n // count for bonus, n, flat_, count in rows)


# --- the charts' series -----------------------------------------------------------------------


def _redemptions_by_day(session: Session, campaign_id: int,
                        store_id: int | None) -> list[DayRedemptions]:
    """Redemptions of the campaign's coupons per UTC day, with the discount they gave."""
    day = purchase_day(session, Coupon.redeemed_at)
    shares = _discount_shares(campaign_id, store_id)
    counts = dict(session.execute(
        select(day, func.count()).where(*_redeemed(campaign_id, store_id)).group_by(day)).all())
    share_day = purchase_day(session, shares.c.occurred_at)
    discounts = dict(session.execute(
        select(share_day, func.sum(shares.c.discount)).group_by(share_day)).all())
    return [DayRedemptions(dt.date.fromisoformat(str(d)), int(counts[d]),
                           int(discounts.get(d) or 0))
            for d in sorted(counts)]


def _cumulative(session: Session, per_basket: Any, days: int, as_of: dt.datetime,
                first_run: dt.datetime | None, n_treatment: int,
                n_holdout: int) -> list[DaySpend]:
    """Each group's spend per member, cumulated day by day through the window (days since
    each run was planned, so the runs of a recurring campaign line up)."""
    if first_run is None:
        return []
    rows = session.execute(select(per_basket.c.holdout, per_basket.c.day,
                                  func.sum(per_basket.c.spend))
                           .group_by(per_basket.c.holdout, per_basket.c.day)).all()
    spend = {(bool(h), int(d)): int(s or 0) for h, d, s in rows}
    elapsed = (as_of - first_run).total_seconds() / 86400
    shown = max(0, min(days, math.ceil(elapsed)))
    series, totals = [], {False: 0, True: 0}
    for d in range(shown):
        for group in totals:
            totals[group] += spend.get((group, d), 0)
        series.append(DaySpend(
            d, totals[False] / n_treatment if n_treatment else None,
            totals[True] / n_holdout if n_holdout else None))
    return series

