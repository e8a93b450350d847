"""Who got offers, and how good: reach and mean offer value by RFM segment, tier, gender and age
band, for one campaign or the whole programme (docs/CAMPAIGNS.md, "Fairness").

* **Eligible members**: every member enrolled by the campaign's last run (by ``as_of`` when it
  has none; for the programme, by ``as_of``).  Reach is the share of them who were issued at
  least one coupon of the campaign (of any campaign, for the programme).
* **Offer value** of a coupon: an amount off its amount; bonus points their points at
  ``point_value_minor``; a percent off or a free item the campaign's worst-case cost of one
  coupon (``cost_per_coupon_minor``, set at launch).  The mean is over the coupons issued.
* **Age band** on the as-of date: under 25, 25-34, 35-44, 45-54, 55-64, 65 and over, unknown.
* **Flag**: a group of at least ``min_members`` members whose reach, or mean offer value,
  divided by the whole's lies outside 0.8-1.25 (the four-fifths rule, and its mirror for
  groups favoured by as much).  Small groups are shown but never flagged: their shares are
  noise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Date, case, func, literal, select
from sqlalchemy.orm import Session

from loyalty.campaigns.models import Campaign, CampaignRun
from loyalty.coupons.models import Coupon, OfferKind
from loyalty.db import utcnow
from loyalty.errors import NotFound
from loyalty.insight.models import MemberInsight
from loyalty.members.models import Member
from loyalty.tiers.models import Tier

RATIO_LOW, RATIO_HIGH = 0.8, 1.25
MIN_MEMBERS = 30
# (label, from age, to age exclusive); None: open
AGE_BANDS: tuple[tuple[str, int | None, int | None], ...] = (
    ("under 25", None, 25), ("25-34", 25, 35), ("35-44", 35, 45), ("45-54", 45, 55),
    ("55-64", 55, 65), ("65+", 65, None),
)
DIMENSIONS = ("segment", "tier", "gender", "age_band")


@dataclass(frozen=True)
class GroupFairness:
    dimension: str
    group: str
    members: int
    reached: int
    reach: float | None
    coupons: int
    mean_offer_value_minor: float | None
    reach_ratio: float | None  # the group's reach / everyone's
    value_ratio: float | None  # the group's mean offer value / everyone's
    flagged: bool
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Fairness:
    campaign_id: int | None
    as_of: dt.datetime
    eligible: int
    reached: int
    reach: float | None
    coupons: int
    mean_offer_value_minor: float | None
    min_members: int
    ratio_low: float
    ratio_high: float
    groups: list[GroupFairness]

    @property
    def flagged(self) -> list[GroupFairness]:
        return [g for g in self.groups if g.flagged]


def fairness(
    session: Session, campaign_id: int | None = None, *, point_value_minor: int = 1,
    as_of: dt.datetime | None = None, min_members: int = MIN_MEMBERS,
) -> Fairness:
    """Reach and offer value by group for ``campaign_id`` (None: every campaign)."""
    as_of = as_of or utcnow()
    cutoff = as_of
    if campaign_id is not None:
        if session.get(Campaign, campaign_id) is None:
            raise NotFound(f"no campaign {campaign_id}", code_hint="unknown_campaign")
        last_run = session.scalar(select(func.max(CampaignRun.planned_at))
                                  .where(CampaignRun.campaign_id == campaign_id))
        cutoff = min(last_run, as_of) if last_run else as_of
    people = _people(campaign_id, cutoff, as_of.date(), point_value_minor)
    overall = session.execute(select(func.count(), func.count(people.c.coupons),
                                     func.sum(people.c.coupons), func.sum(people.c.value))).one()
    eligible, reached, coupons, value = (int(x or 0) for x in overall)
    reach = reached / eligible if eligible else None
    mean_value = value / coupons if coupons else None
    groups = []
    for dimension in DIMENSIONS:
        column = people.c[dimension]
        rows = session.execute(
            select(column, func.count(), func.count(people.c.coupons), func.sum(people.c.coupons),
                   func.sum(people.c.value)).group_by(column).order_by(column)).all()
        groups += [_group(dimension, *row, reach=reach, mean_value=mean_value,
                          min_members=min_members) for row in rows]
    return Fairness(campaign_id, as_of, eligible, reached, reach, coupons, mean_value,
                    min_members, RATIO_LOW, RATIO_HIGH, groups)


def _offer_value(point_value_minor: int) -> Any:
    return case(
        (Coupon.kind == OfferKind.AMOUNT_OFF, func.coalesce(Coupon.amount_minor, 0)),
        (Coupon.kind == OfferKind.BONUS_POINTS,
         func.coalesce(Coupon.bonus_points, 0) * point_value_minor),
        else_=Campaign.cost_per_coupon_minor,
    )


def _age_band(birth_date: Any, on: dt.date) -> Any:
    """The band as a CASE over birth dates: age >= A exactly when born on or before the date
    A years before ``on`` (29 February counts as 28 February in other years)."""
    def born_by(years: int) -> dt.date:
        try:
            return on.replace(year=on.year - years)
        except ValueError:
            return on.replace(year=on.year - years, day=28)

    whens = []
    for label, _low, high in AGE_BANDS:
        if high is not None:  # younger than ``high``: born after the date ``high`` years ago
            whens.append((birth_date > literal(born_by(high), Date), literal(label)))
    return case((birth_date.is_(None), literal("unknown")), *whens, else_=literal(AGE_BANDS[-1][0]))


def _people(campaign_id: int | None, cutoff: dt.datetime, on: dt.date,
            point_value_minor: int) -> Any:
    """One row per eligible member: their groups, and their coupons' count and value (NULL
    when they had none)."""
    offers = (select(Coupon.member_id.label("member_id"), func.count().label("coupons"),
                     func.sum(_offer_value(point_value_minor)).label("value"))
              .join(Campaign, Campaign.id == Coupon.campaign_id)
              .where(Coupon.issued_at <= cutoff if campaign_id is None
                     else Coupon.campaign_id == campaign_id)
              .group_by(Coupon.member_id)).subquery("offers")
    return (
        select(func.coalesce(MemberInsight.segment, "unscored").label("segment"),
               func.coalesce(Tier.code, "none").label("tier"),
               func.coalesce(func.lower(Member.gender), "unknown").label("gender"),
               _age_band(Member.birth_date, on).label("age_band"),
               offers.c.coupons, offers.c.value)
        .select_from(Member)
        .outerjoin(MemberInsight, MemberInsight.member_id == Member.id)
        .outerjoin(Tier, Tier.id == Member.tier_id)
        .outerjoin(offers, offers.c.member_id == Member.id)
        .where(Member.created_at <= cutoff)
    ).subquery("people")


def _ratio(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return part / whole


def _group(dimension: str, group: str, members: int, reached: int, coupons: int | None,
           value: int | None, *, reach: float | None, mean_value: float | None,
           min_members: int) -> GroupFairness:
    coupons, value = int(coupons or 0), int(value or 0)
    group_reach = reached / members if members else None
    group_value = value / coupons if coupons else None
    reach_ratio, value_ratio = _ratio(group_reach, reach), _ratio(group_value, mean_value)
    reasons = []
    if members >= min_members:
        for what, ratio in (("reach", reach_ratio), ("offer value", value_ratio)):
            if ratio is not None and not RATIO_LOW <= ratio <= RATIO_HIGH:
                reasons.append(f"{what} {ratio:.2f}x the average")
    return GroupFairness(dimension, str(group), members, reached, group_reach, coupons,
                         group_value, reach_ratio, value_ratio, bool(reasons), reasons)
