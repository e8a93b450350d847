"""Who a campaign reaches: its kind's audience, narrowed by its own rule, as ONE select
(docs/CAMPAIGNS.md, "Kinds and audiences").

:func:`audience_for` returns a select whose first column is ``member_id`` and whose other
columns are labelled with the member's values that matched (``recency_days``, ``p_alive``,
``average_basket_minor`` ...): the issuing plans a run from it set-based and records those values,
with the campaign's kind and rule, as each coupon's explanation.  Nothing is loaded into Python.

Every kind but up-sell and the automations is a segment rule built here and compiled by
:mod:`loyalty.segments.compiler`, so the rule language has one implementation.  Dates are UTC
dates (``now.date()``).  Pure apart from reading the affinities for a cross-sell: no flask, no
celery.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    extract,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from loyalty.baskets.models import Basket, BasketLine
from loyalty.campaigns.models import (
    AUTOMATIONS,
    Campaign,
    CampaignKind,
    CampaignRun,
    CampaignTarget,
)
from loyalty.campaigns.occasions import automation_prefix
from loyalty.catalog.models import Category
from loyalty.errors import InvalidInput, InvalidSegmentRule
from loyalty.insight.models import Affinity, MemberInsight
from loyalty.members.models import Member
from loyalty.segments.compiler import FIELDS
from loyalty.segments.services import compile_checked
from loyalty.tiers.models import Tier

# Each kind's parameters and their defaults (a campaign's own values override them).  Values are
# checked by _PARAMETER_RANGES; a key not listed for the kind is refused.
DEFAULT_PARAMETERS: dict[CampaignKind, dict[str, Any]] = {
    CampaignKind.TARGETED: {},
    # lapsed: no visit for at least 90 days, after at least 2 visits (one-off shoppers are not
    # "won back", they never came back in the first place)
    CampaignKind.WIN_BACK: {"lapsed_days": 90, "min_visits": 2},
    # likely to leave: the churn model's probability of still being active is below this
    CampaignKind.RETENTION: {"p_alive_below": 0.5},
    # buys a category that sells with the offer's, never the offer's own; ``from_category_id``
    # names the first category, else the strongest affinities (lift above ``min_lift``) do
    CampaignKind.CROSS_SELL: {"from_category_id": None, "min_lift": 1.0, "top_pairs": 5},
    # the offer's minimum spend is above the member's average basket, by at most this much:
    # a stretch within reach (120: the threshold is at most 1.2x their average)
    CampaignKind.UP_SELL: {"stretch_percent": 120},
    CampaignKind.BIRTHDAY: {},
    CampaignKind.ANNIVERSARY: {},
    CampaignKind.WELCOME: {},
}
# offers.worst_case_minor's reference basket: its money (percent_off), its points (multiplier)
COMMON_PARAMETERS = {"max_basket_minor", "max_basket_points"}

_PARAMETER_RANGES: dict[str, tuple[type, float, float]] = {
    "lapsed_days": (int, 1, 36600),
    "min_visits": (int, 1, 1_000_000),
    "p_alive_below": (float, 0, 1),
    "from_category_id": (int, 1, 2**31 - 1),
    "min_lift": (float, 0, 1_000_000),
    "top_pairs": (int, 1, 50),
    "stretch_percent": (int, 101, 1000),
    "max_basket_minor": (int, 1, 2**31 - 1),
    "max_basket_points": (int, 1, 2**31 - 1),
}


def check_parameters(kind: CampaignKind, given: Any) -> dict[str, Any]:
    """The kind's parameters: its defaults overridden by ``given``; InvalidInput for a key the
    kind does not take or a value out of range."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise InvalidInput("parameters: expected an object")
    defaults = DEFAULT_PARAMETERS[kind]
    allowed = set(defaults) | COMMON_PARAMETERS
    for key, value in given.items():
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            raise InvalidInput(f"parameters: a {kind.value} campaign takes no {key!r}"
                               f"; it takes {known}")
        if value is None:
            continue
        kind_of, low, high = _PARAMETER_RANGES[key]
        numeric = isinstance(value, int) or (kind_of is float and isinstance(value, float))
        if isinstance(value, bool) or not numeric or not low <= value <= high:
            raise InvalidInput(f"parameters: {key} must be a number from {low:g} to {high:g}")
    return {**defaults, **given}


def audience_for(session: Session, campaign: Campaign, now: dt.datetime) -> Select[Any]:
    """The members the campaign's kind and rule select at ``now`` (aware), one row each:
    ``member_id`` first, then the member's values that matched, labelled.

    Raises InvalidSegmentRule (the rule), InvalidInput (a kind's missing piece: a cross-sell's
    category without affinities, an up-sell's offer without a minimum spend).
    """
    kind = CampaignKind(campaign.kind)
    params = check_parameters(kind, campaign.parameters)
    builder = _KINDS[kind]
    base, values = builder(session, campaign, params, now)
    if kind in AUTOMATIONS:
        base = base.where(~_already_targeted(campaign, now))
    if campaign.audience is not None and kind != CampaignKind.TARGETED:
        # The campaign's own rule narrows the kind's audience.
        narrowed = compile_checked(session, campaign.audience, now=now).query
        base = base.where(Member.id.in_(narrowed.with_only_columns(Member.id)))
    columns = [Member.id.label("member_id"), *(col.label(name) for name, col in values.items())]
    return base.with_only_columns(*columns, maintain_column_froms=False).order_by(None)


# --- the kinds ---------------------------------------------------------------------------------

Built = tuple[Select[Any], dict[str, ColumnElement[Any]]]


def _from_rule(session: Session, rule: Any, now: dt.datetime) -> Select[Any]:
    return compile_checked(session, rule, now=now).query


def _targeted(session: Session, campaign: Campaign, _params: dict[str, Any],
              now: dt.datetime) -> Built:
    """The campaign's segment rule alone (copied from the saved segment when one was named).
    Explained by the values of the fields the rule compares."""
    if campaign.audience is None:
        raise InvalidInput("a targeted campaign needs an audience rule or a saved segment")
    query = _from_rule(session, campaign.audience, now)
    values = {name: _field_value(name) for name in sorted(_rule_fields(campaign.audience))}
    return query, {k: v for k, v in values.items() if v is not None}


def _win_back(session: Session, _c: Campaign, params: dict[str, Any], now: dt.datetime) -> Built:
    rule = {"and": [{"field": "recency_days", "op": ">=", "value": params["lapsed_days"]},
                    {"field": "frequency", "op": ">=", "value": params["min_visits"]}]}
    return _from_rule(session, rule, now), {"recency_days": MemberInsight.recency_days,
                                            "frequency": MemberInsight.frequency}


def _retention(session: Session, _c: Campaign, params: dict[str, Any], now: dt.datetime) -> Built:
    rule = {"field": "p_alive", "op": "<", "value": float(params["p_alive_below"])}
    return _from_rule(session, rule, now), {"p_alive": MemberInsight.p_alive,
                                            "recency_days": MemberInsight.recency_days}


def _cross_sell(session: Session, campaign: Campaign, params: dict[str, Any],
                now: dt.datetime) -> Built:
    """Bought one of the "from" categories, never the offer's category: the offer is on what
    the member does not buy yet."""
    target = (campaign.offer or {}).get("category_id")
    if target is None:
        raise InvalidInput("a cross-sell offer is on a category: give offer.category_id")
    sources = _cross_sell_sources(session, target, params)
    rule = {"or": [{"bought": source, "never": target} for source in sources]}
    query = _from_rule(session, rule, now)
    # Which of the sources this member bought (the strongest pair first): the explanation.
    rank = {source: n for n, source in enumerate(sources)}
    bought = (select(Category.name)
              .where(Category.id.in_(sources),
                     exists().where(Basket.member_id == Member.id,
                                    BasketLine.basket_id == Basket.id,
                                    BasketLine.category_id == Category.id))
              .order_by(_rank_case(rank), Category.id).limit(1).scalar_subquery())
    target_name = session.scalar(select(Category.name).where(Category.id == target))
    return query, {"bought_category": bought, "offer_category": literal(target_name)}


def _rank_case(rank: dict[int, int]) -> ColumnElement[int]:
    return case(rank, value=Category.id, else_=len(rank))


def _cross_sell_sources(session: Session, target: int, params: dict[str, Any]) -> list[int]:
    if params.get("from_category_id") is not None:
        source = params["from_category_id"]
        if source == target:
            raise InvalidInput("parameters: from_category_id is the offer's own category")
        if session.get(Category, source) is None:
            raise InvalidSegmentRule("$.parameters.from_category_id", "unknown category id")
        return [source]
    sources = list(session.scalars(
        select(Affinity.antecedent_id)
        .where(Affinity.kind == "category", Affinity.consequent_id == target,
               Affinity.antecedent_id != target, Affinity.lift > params["min_lift"])
        .order_by(Affinity.lift.desc(), Affinity.antecedent_id).limit(params["top_pairs"])))
    if not sources:
        raise InvalidInput(f"no category sells with category {target} above lift "
                           f"{params['min_lift']:g} (run `loyalty insight rebuild`, or name "
                           f"parameters.from_category_id)")
    return sources


def _up_sell(_s: Session, campaign: Campaign, params: dict[str, Any], _now: dt.datetime) -> Built:
    """Members whose average basket is below the offer's minimum spend, but within reach of it:
    average x stretch_percent / 100 >= minimum spend."""
    threshold = (campaign.offer or {}).get("min_spend_minor") or 0
    if threshold <= 0:
        raise InvalidInput("an up-sell offer needs offer.min_spend_minor (the spend to reach)")
    average = MemberInsight.average_basket_minor
    query = (select(Member.id).select_from(Member)
             .join(MemberInsight, MemberInsight.member_id == Member.id)
             .where(average > 0, average < threshold,
                    average * params["stretch_percent"] >= threshold * 100))
    return query, {"average_basket_minor": average, "min_spend_minor": literal(threshold),
                   "currency": literal(campaign.currency)}


def _birthday(_s: Session, _c: Campaign, _p: dict[str, Any], now: dt.datetime) -> Built:
    """Birthday today (UTC date).  Members born on 29 February celebrate on the 28th in years
    without one."""
    today = now.date()
    days = [(today.month, today.day)]
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        days.append((2, 29))
    born = Member.birth_date
    match = or_(*(and_(extract("month", born) == m, extract("day", born) == d) for m, d in days))
    query = select(Member.id).select_from(Member).where(born.is_not(None), match)
    return query, {"birthday": literal(today.strftime("%m-%d"))}


def _anniversary(_s: Session, _c: Campaign, _p: dict[str, Any], now: dt.datetime) -> Built:
    """Joined one year ago today (UTC dates): joined in [a year before today, a year before
    tomorrow), so a member who joined on 29 February is thanked on 28 February."""
    today = now.date()
    start, end = _year_before(today), _year_before(today + dt.timedelta(days=1))
    query = (select(Member.id).select_from(Member)
             .where(Member.created_at >= _midnight(start), Member.created_at < _midnight(end)))
    return query, {"member_since": literal(start.isoformat()), "years": literal(1)}


def _welcome(_s: Session, campaign: Campaign, _p: dict[str, Any], now: dt.datetime) -> Built:
    """Joined since the campaign started, up to now, and not welcomed by it yet (the run that
    welcomed a member is found by the automations' exclusion, so no joiner falls between two
    runs)."""
    query = (select(Member.id).select_from(Member)
             .where(Member.created_at >= campaign.starts_at, Member.created_at <= now))
    return query, {"joined_after": literal(_as_utc(campaign.starts_at).date().isoformat())}


_KINDS = {
    CampaignKind.TARGETED: _targeted,
    CampaignKind.WIN_BACK: _win_back,
    CampaignKind.RETENTION: _retention,
    CampaignKind.CROSS_SELL: _cross_sell,
    CampaignKind.UP_SELL: _up_sell,
    CampaignKind.BIRTHDAY: _birthday,
    CampaignKind.ANNIVERSARY: _anniversary,
    CampaignKind.WELCOME: _welcome,
}


def _already_targeted(campaign: Campaign, now: dt.datetime) -> ColumnElement[bool]:
    """The member was in a run of this automation for the same occasion already (this year's
    birthday, the welcome): held out or treated, they are not picked again."""
    prefix = automation_prefix(CampaignKind(campaign.kind), now.date())
    return exists().where(CampaignTarget.member_id == Member.id,
                          CampaignRun.id == CampaignTarget.run_id,
                          CampaignRun.campaign_id == campaign.id,
                          CampaignRun.occasion.startswith(prefix + "@", autoescape=True))


# --- helpers -----------------------------------------------------------------------------------

# Rule fields whose member value is worth showing (and safe to record): the insight columns,
# demographics a rule names, the tier.  Age and card status are shown by the rule alone.
_SHOWN = {"recency_days", "frequency", "monetary_minor", "r", "f", "m", "segment", "p_alive",
          "gender", "language", "birthday_month"}


def _field_value(name: str) -> ColumnElement[Any] | None:
    if name in _SHOWN:
        return FIELDS[name][0]
    if name == "tier":
        return select(Tier.code).where(Tier.id == Member.tier_id).scalar_subquery()
    return None


def _rule_fields(rule: Any) -> set[str]:
    """The ``field`` names a (compiled, so well-formed) rule compares."""
    found: set[str] = set()
    if isinstance(rule, dict):
        if isinstance(rule.get("field"), str):
            found.add(rule["field"])
        for key in ("and", "or"):
            for child in rule.get(key) or []:
                found |= _rule_fields(child)
        if "not" in rule:
            found |= _rule_fields(rule["not"])
    return found


def _year_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February: the year before has none, so 1 March
        return dt.date(day.year - 1, 3, 1)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _as_utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
