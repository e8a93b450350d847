"""Campaigns' life cycle: create and edit a draft, dry-run it, launch it, run it on its occasions,
cancel it (docs/CAMPAIGNS.md).

draft -> scheduled (launched, before its start) -> running (from its start: runs on each due
occasion) -> ended (at its end); draft, scheduled or running -> cancelled.  Only a draft can be
edited; launching is the last change to the definition (the worst-case cost of a coupon is fixed
then), and ``frozen_at`` records when its first run was planned.

Issuing itself (planning a run's targets, the holdout, the budget and contact limits, chunks under
Celery) is :mod:`loyalty.campaigns.issuing`'s: :func:`advance_campaign` hands it the run's
occasion and audience (``start_run``).

Services flush and never commit; every change is audit-logged.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from loyalty.audit.services import record_event
from loyalty.campaigns.audience import audience_for, check_parameters
from loyalty.campaigns.explain import explain
from loyalty.campaigns.issuing import holdout_bucket_sql, start_run
from loyalty.campaigns.models import (
    AUTOMATIONS,
    Campaign,
    CampaignKind,
    CampaignRun,
    CampaignStatus,
    CampaignTarget,
    TargetOutcome,
)
from loyalty.campaigns.occasions import ONE_OFF, RECURRENCES, run_occasion
from loyalty.campaigns.offers import (
    check_offer_references,
    offer_to_json,
    parse_offer,
    worst_case_minor,
)
from loyalty.db import INT32_MAX, utcnow
from loyalty.errors import (
    AlreadyExists,
    AlreadyLaunched,
    CampaignFrozen,
    CampaignNotActive,
    InvalidInput,
    NotFound,
)
from loyalty.members.models import Member
from loyalty.segments.models import Segment
from loyalty.segments.services import compile_checked

MAX_HOLDOUT_PERCENT = 50
DEFAULT_HOLDOUT_PERCENT = 10
MAX_VALID_DAYS = 3 * 366
MAX_SAMPLE = 100
CHANNELS = ("wallet", "email", "sms")
_CURRENCY = re.compile(r"[A-Z]{3}")

# What a person sets; everything else is the campaign's own record.
DEFINITION = ("name", "kind", "segment_id", "audience", "parameters", "offer", "coupon_valid_days",
              "channel", "currency", "budget_minor", "member_limit_count", "member_limit_days",
              "holdout_percent", "attribution_days", "starts_at", "ends_at", "recurrence")


# --- the definition ----------------------------------------------------------------------------


def create_campaign(session: Session, data: dict[str, Any], *, actor: str,
                    now: dt.datetime | None = None) -> Campaign:
    """A draft campaign from ``data`` (the DEFINITION keys; missing optional ones take their
    defaults).  Every part is checked before anything is written: InvalidInput (or its kinds:
    ``invalid_segment_rule`` with the rule's JSON path, ``currency_mismatch``) names the first
    problem.  A saved segment's rule is copied, so editing the segment later changes nothing
    here.  Audit event ``campaign.create``."""
    values = _checked(session, {**_defaults(), **data}, now or utcnow())
    _check_name_free(session, values["name"], None)
    campaign = Campaign(**values, status=CampaignStatus.DRAFT, created_by=actor)
    session.add(campaign)
    session.flush()
    record_event(session, actor, "campaign.create", f"campaign:{campaign.id}",
                 name=campaign.name, kind=campaign.kind.value)
    return campaign


def update_campaign(session: Session, campaign_id: int, changes: dict[str, Any], *,
                    actor: str, now: dt.datetime | None = None) -> Campaign:
    """Change a draft: the whole definition is checked again as on creation.  A launched,
    running, ended or cancelled campaign is frozen: CampaignFrozen (409), nothing changes."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status != CampaignStatus.DRAFT:
        raise CampaignFrozen(f"campaign {campaign.id} is {campaign.status.value}: only a draft "
                             f"can be changed", campaign_status=campaign.status.value)
    current = {key: getattr(campaign, key) for key in DEFINITION}
    if "segment_id" in changes and "audience" not in changes:
        current["audience"] = None  # a new segment brings its own rule
    if changes.get("audience") is not None and "segment_id" not in changes:
        current["segment_id"] = None  # a rule written here replaces the segment's copy
    if "kind" in changes and "parameters" not in changes:
        current["parameters"] = None  # another kind takes other parameters: its defaults
    values = _checked(session, {**current, **changes}, now or utcnow(),
                      copy_segment="segment_id" in changes)
    _check_name_free(session, values["name"], campaign.id)
    for key, value in values.items():
        setattr(campaign, key, value)
    session.flush()
    record_event(session, actor, "campaign.update", f"campaign:{campaign.id}",
                 fields=sorted(changes))
    return campaign


def _defaults() -> dict[str, Any]:
    return {"segment_id": None, "audience": None, "parameters": None, "coupon_valid_days": 30,
            "channel": None, "budget_minor": None, "member_limit_count": None,
            "member_limit_days": None, "holdout_percent": DEFAULT_HOLDOUT_PERCENT,
            "attribution_days": 14, "recurrence": None}


def _checked(session: Session, data: dict[str, Any], now: dt.datetime, *,
             copy_segment: bool = True) -> dict[str, Any]:
    """The definition, every part checked; the first problem raises."""
    unknown = sorted(set(data) - set(DEFINITION))
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}", field=unknown[0])
    missing = [key for key in ("name", "kind", "offer", "currency", "starts_at", "ends_at")
               if data.get(key) is None]
    if missing:
        raise InvalidInput(f"{missing[0]} is required", field=missing[0])
    values = dict(data)
    values["name"] = _text(values["name"], "name", 100)
    try:
        kind = values["kind"] = CampaignKind(values["kind"])
    except ValueError:
        raise InvalidInput(f"kind is one of {', '.join(CampaignKind)}", field="kind") from None
    currency = values["currency"]
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise InvalidInput("currency: an ISO 4217 code such as AED", field="currency")
    _check_dates(values)
    _check_numbers(values)
    _check_recurrence(values, kind)
    if values["channel"] is not None and values["channel"] not in CHANNELS:
        raise InvalidInput(f"channel is one of {', '.join(CHANNELS)} (or none: each member's "
                           f"own)", field="channel")
    values["parameters"] = check_parameters(kind, values["parameters"])
    offer = parse_offer(values["offer"], currency)
    check_offer_references(session, offer, currency)
    values["offer"] = offer_to_json(offer)
    _check_kind_needs(kind, values)
    if copy_segment and values["segment_id"] is not None:
        if values["audience"] is not None:
            raise InvalidInput("give an audience rule or a saved segment, not both",
                               field="segment_id")
        values["audience"] = _segment_rule(session, values["segment_id"])
    if values["audience"] is not None:
        compile_checked(session, values["audience"], now=now)
    if kind == CampaignKind.TARGETED and values["audience"] is None:
        raise InvalidInput("a targeted campaign needs an audience rule or a saved segment",
                           field="audience")
    return values


def _text(value: Any, name: str, longest: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > longest:
        raise InvalidInput(f"{name}: a text of 1 to {longest} characters", field=name)
    if "\x00" in value:
        raise InvalidInput(f"{name}: no NUL characters", field=name)
    return value


def _check_dates(values: dict[str, Any]) -> None:
    for key in ("starts_at", "ends_at"):
        if not isinstance(values[key], dt.datetime) or values[key].tzinfo is None:
            raise InvalidInput(f"{key}: a date and time with its UTC offset", field=key)
    if values["ends_at"] <= values["starts_at"]:
        raise InvalidInput("ends_at must be after starts_at", field="ends_at")


_RANGES = {
    "budget_minor": (0, INT32_MAX),
    "member_limit_count": (1, 1000),
    "member_limit_days": (1, 366),
    "holdout_percent": (0, MAX_HOLDOUT_PERCENT),
    "attribution_days": (1, 366),
    "coupon_valid_days": (1, MAX_VALID_DAYS),
}


def _check_numbers(values: dict[str, Any]) -> None:
    for key, (low, high) in _RANGES.items():
        value = values[key]
        if value is None and key in ("budget_minor", "member_limit_count", "member_limit_days"):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(f"{key} must be an integer from {low} to {high}", field=key)
    if (values["member_limit_count"] is None) != (values["member_limit_days"] is None):
        raise InvalidInput("a contact limit is member_limit_count offers in member_limit_days "
                           "days: give both or neither", field="member_limit_count")


def _check_recurrence(values: dict[str, Any], kind: CampaignKind) -> None:
    recurrence = values["recurrence"]
    if kind in AUTOMATIONS:
        if recurrence not in (None, "daily"):
            raise InvalidInput("automations run daily", field="recurrence")
        values["recurrence"] = "daily"
    elif recurrence is not None and recurrence not in RECURRENCES:
        raise InvalidInput(f"recurrence is one of {', '.join(RECURRENCES)} (or none: once)",
                           field="recurrence")


def _check_kind_needs(kind: CampaignKind, values: dict[str, Any]) -> None:
    offer = values["offer"]
    if kind == CampaignKind.CROSS_SELL and offer.get("category_id") is None:
        raise InvalidInput("a cross-sell offer is on the category the member does not buy yet: "
                           "give offer.category_id", field="offer")
    if kind == CampaignKind.UP_SELL and not offer.get("min_spend_minor"):
        raise InvalidInput("an up-sell offer needs offer.min_spend_minor (the spend to reach)",
                           field="offer")


def _segment_rule(session: Session, segment_id: Any) -> Any:
    if isinstance(segment_id, bool) or not isinstance(segment_id, int):
        raise InvalidInput("segment_id: an id", field="segment_id")
    segment = session.get(Segment, segment_id) if 1 <= segment_id <= INT32_MAX else None
    if segment is None:
        raise InvalidInput(f"no segment {segment_id}", field="segment_id")
    return segment.rule


def _check_name_free(session: Session, name: str, own_id: int | None) -> None:
    other = session.scalar(select(Campaign.id).where(Campaign.name == name))
    if other is not None and other != own_id:
        raise AlreadyExists(f"a campaign named {name!r} exists")


# --- reading -----------------------------------------------------------------------------------


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id}")
    return campaign


@dataclass(frozen=True)
class CampaignSummary:
    """A campaign with what it reached so far, for the marketer's list."""

    campaign: Campaign
    reached: int  # coupons issued (treated members, over all runs)
    held_out: int
    runs: int

    @property
    def spent_minor(self) -> int:
        """The budget committed by issued coupons (at the worst-case cost)."""
        return self.campaign.committed_minor


def _counted(outcome: TargetOutcome) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((CampaignTarget.outcome == outcome, 1), else_=0)), 0)


def list_campaigns(session: Session, status: CampaignStatus | None = None, *,
                   campaign_id: int | None = None) -> list[CampaignSummary]:
    """Every campaign (or those in ``status``, or the one ``campaign_id``), newest first, with
    reach and runs: one query."""
    totals = (select(CampaignRun.campaign_id,
                     func.count(func.distinct(CampaignRun.id)).label("runs"),
                     _counted(TargetOutcome.ISSUED).label("reached"),
                     _counted(TargetOutcome.HOLDOUT).label("held_out"))
              .outerjoin(CampaignTarget, CampaignTarget.run_id == CampaignRun.id)
              .group_by(CampaignRun.campaign_id).subquery())
    query = (select(Campaign, func.coalesce(totals.c.reached, 0),
                    func.coalesce(totals.c.held_out, 0), func.coalesce(totals.c.runs, 0))
             .outerjoin(totals, totals.c.campaign_id == Campaign.id)
             .order_by(Campaign.created_at.desc(), Campaign.id.desc()))
    if status is not None:
        query = query.where(Campaign.status == status)
    if campaign_id is not None:
        query = query.where(Campaign.id == campaign_id)
    return [CampaignSummary(c, int(reached), int(held), int(runs))
            for c, reached, held, runs in session.execute(query)]


def campaign_summary(session: Session, campaign_id: int) -> CampaignSummary:
    """One campaign with its reach and runs (NotFound if there is none)."""
    found = list_campaigns(session, campaign_id=campaign_id)
    if not found:
        raise NotFound(f"no campaign {campaign_id}")
    return found[0]


@dataclass(frozen=True)
class RunSummary:
    run: CampaignRun
    outcomes: dict[str, int]  # TargetOutcome value -> members


def list_runs(session: Session, campaign_id: int) -> list[RunSummary]:
    """The campaign's runs, oldest first, with their targets counted by outcome."""
    get_campaign(session, campaign_id)
    runs = list(session.scalars(select(CampaignRun).where(CampaignRun.campaign_id == campaign_id)
                                .order_by(CampaignRun.planned_at, CampaignRun.id)))
    counts: dict[int, dict[str, int]] = {run.id: {o.value: 0 for o in TargetOutcome}
                                         for run in runs}
    rows = session.execute(select(CampaignTarget.run_id, CampaignTarget.outcome, func.count())
                           .join(CampaignRun, CampaignRun.id == CampaignTarget.run_id)
                           .where(CampaignRun.campaign_id == campaign_id)
                           .group_by(CampaignTarget.run_id, CampaignTarget.outcome))
    for run_id, outcome, n in rows:
        counts[run_id][TargetOutcome(outcome).value] = n
    return [RunSummary(run, counts[run.id]) for run in runs]


# --- dry run -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DryRun:
    """Who would get what, and what it could cost at worst, if the campaign ran now."""

    occasion: str
    audience: int
    treated: int
    held_out: int
    cost_per_coupon_minor: int
    worst_case_minor: int  # treated x cost per coupon
    budget_minor: int | None
    budget_suffices: bool
    coupons_within_budget: int | None  # None: no cap
    offer: dict[str, Any]
    currency: str
    sample: list[dict[str, Any]] = field(default_factory=list)


def dry_run(session: Session, campaign_id: int, *, now: dt.datetime | None = None,
            sample: int = 20, point_value_minor: int = 1) -> DryRun:
    """The audience the campaign would reach now, split by the holdout as issuing will split
    it, a sample of members (lowest ids) with their explanation, and the worst-case cost
    against the budget.  Reads only.  Per-member contact limits are applied when issuing, so a
    run may reach fewer than ``treated``."""
    now = now or utcnow()
    campaign = get_campaign(session, campaign_id)
    audience = audience_for(session, campaign, now).subquery()
    held = holdout_bucket_sql(campaign.id, audience.c.member_id) < campaign.holdout_percent
    total, held_out = session.execute(
        select(func.count(), func.coalesce(func.sum(case((held, 1), else_=0)), 0))
        .select_from(audience)).one()
    cost = _cost_per_coupon(session, campaign, now, point_value_minor)
    treated = int(total) - int(held_out)
    worst = treated * cost
    budget = campaign.budget_minor
    rows = session.execute(
        select(audience, held.label("held_out"), Member.name, Member.language)
        .join(Member, Member.id == audience.c.member_id)
        .order_by(audience.c.member_id).limit(max(0, min(sample, MAX_SAMPLE)))).mappings()
    members = []
    for row in rows:
        values = {k: v for k, v in row.items()
                  if k not in ("member_id", "held_out", "name", "language")}
        explanation = explanation_for(campaign, values)
        members.append({"member_id": row["member_id"], "name": row["name"],
                        "held_out": bool(row["held_out"]), "explanation": explanation,
                        "why": explain(explanation, row["language"])})
    return DryRun(
        occasion=run_occasion(campaign.kind, campaign.recurrence, now.date()),
        audience=int(total), treated=treated, held_out=int(held_out),
        cost_per_coupon_minor=cost, worst_case_minor=worst, budget_minor=budget,
        budget_suffices=budget is None or worst <= budget,
        coupons_within_budget=None if budget is None else (budget // cost if cost else treated),
        offer=campaign.offer, currency=campaign.currency, sample=members)


def explanation_for(campaign: Campaign, values: dict[str, Any]) -> dict[str, Any]:
    """What a coupon records of why its member got it: the kind, the rule, the values (the
    shape issuing's ``plan_run`` writes)."""
    return {"kind": CampaignKind(campaign.kind).value, "rule": campaign.audience,
            "values": values}


def _cost_per_coupon(session: Session, campaign: Campaign, now: dt.datetime,
                     point_value_minor: int) -> int:
    if campaign.launched_at is not None:
        return campaign.cost_per_coupon_minor
    offer = parse_offer(campaign.offer, campaign.currency)
    return worst_case_minor(session, offer, campaign.currency, parameters=campaign.parameters,
                            point_value_minor=point_value_minor, now=now)


# --- life cycle --------------------------------------------------------------------------------


def launch_campaign(session: Session, campaign_id: int, *, actor: str,
                    now: dt.datetime | None = None, point_value_minor: int = 1) -> Campaign:
    """Launch a draft: its audience must build now, its end must be ahead, and the worst-case
    cost of one coupon is fixed (``cost_per_coupon_minor``).  Scheduled until its start; when
    the start has come it runs at once and its first run is started (:func:`advance_campaign`).
    Launching again is AlreadyLaunched (409) and changes nothing.  Audit event
    ``campaign.launch``."""
    now = now or utcnow()
    campaign = get_campaign(session, campaign_id)
    if campaign.status != CampaignStatus.DRAFT:
        raise AlreadyLaunched(f"campaign {campaign.id} is {campaign.status.value}, not a draft",
                              campaign_status=campaign.status.value)
    if campaign.ends_at <= now:
        raise InvalidInput("the campaign's end has passed: move ends_at before launching",
                           field="ends_at")
    audience_for(session, campaign, now)  # raises if the audience cannot be built
    cost = _cost_per_coupon(session, campaign, now, point_value_minor)
    if cost == 0 and campaign.budget_minor is not None:
        # A cap at zero cost per coupon caps nothing: say so rather than issue without limit.
        raise InvalidInput("no basket to bound the coupon's cost: give "
                           "parameters.max_basket_minor (percent_off) or max_basket_points "
                           "(points_multiplier), or no budget", field="parameters")
    campaign.cost_per_coupon_minor = cost
    campaign.status = CampaignStatus.SCHEDULED
    campaign.launched_by, campaign.launched_at = actor, now
    session.flush()
    record_event(session, actor, "campaign.launch", f"campaign:{campaign.id}",
                 cost_per_coupon_minor=campaign.cost_per_coupon_minor)
    advance_campaign(session, campaign, now)
    return campaign


def cancel_campaign(session: Session, campaign_id: int, *, actor: str,
                    now: dt.datetime | None = None) -> Campaign:
    """Stop a campaign: no further runs, and issuing stops for targets not yet issued (coupons
    already issued stay valid).  An ended or cancelled campaign is CampaignNotActive (409).
    Audit event ``campaign.cancel``."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status in (CampaignStatus.ENDED, CampaignStatus.CANCELLED):
        raise CampaignNotActive(f"campaign {campaign.id} is {campaign.status.value} already",
                                campaign_status=campaign.status.value)
    campaign.status = CampaignStatus.CANCELLED
    campaign.cancelled_by, campaign.cancelled_at = actor, now or utcnow()
    session.flush()
    record_event(session, actor, "campaign.cancel", f"campaign:{campaign.id}")
    return campaign


def due_occasion(session: Session, campaign: Campaign, now: dt.datetime) -> str | None:
    """The occasion a running campaign should run for at ``now``, or None: a one-off runs once;
    a recurring campaign or an automation once per day (or week), never twice for one
    occasion."""
    if campaign.status != CampaignStatus.RUNNING:
        return None
    occasion = run_occasion(CampaignKind(campaign.kind), campaign.recurrence, now.date())
    query = select(CampaignRun.id).where(CampaignRun.campaign_id == campaign.id)
    if occasion != ONE_OFF:
        query = query.where(CampaignRun.occasion == occasion)
    return None if session.scalar(query.limit(1)) is not None else occasion


def advance_campaign(session: Session, campaign: Campaign, now: dt.datetime
                     ) -> CampaignRun | None:
    """Move the campaign along its life cycle at ``now``: scheduled -> running at its start,
    running -> ended at its end, and start its due run (if any) through issuing's
    ``start_run`` (targets planned now, coupons issued by chunk tasks after the commit).
    Idempotent: a second call at the same time starts nothing."""
    if campaign.status == CampaignStatus.SCHEDULED and campaign.starts_at <= now:
        campaign.status = CampaignStatus.RUNNING
        record_event(session, "system", "campaign.start", f"campaign:{campaign.id}")
    if campaign.status == CampaignStatus.RUNNING and campaign.ends_at <= now:
        campaign.status = CampaignStatus.ENDED
        record_event(session, "system", "campaign.end", f"campaign:{campaign.id}")
    occasion = due_occasion(session, campaign, now)
    session.flush()
    if occasion is None:
        return None
    audience = audience_for(session, campaign, now)
    if campaign.frozen_at is None:
        campaign.frozen_at = now
    run = start_run(session, campaign, occasion, audience, now=now)
    record_event(session, "system", "campaign.run", f"campaign:{campaign.id}",
                 occasion=occasion, run_id=run.id)
    return run


def active_campaign_ids(session: Session) -> list[int]:
    """The campaigns a tick looks at: scheduled or running."""
    return list(session.scalars(select(Campaign.id).where(
        Campaign.status.in_((CampaignStatus.SCHEDULED, CampaignStatus.RUNNING)))
        .order_by(Campaign.id)))
