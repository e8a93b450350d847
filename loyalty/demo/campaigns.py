"""The demo's campaigns: one finished, with a holdout and a visible uplift, and one running, so
``loyalty campaign results`` shows something on a fresh machine (docs/CAMPAIGNS.md).

Both go through the campaign engine as a marketer's would: created and launched by
:mod:`loyalty.campaigns.services` (the launch plans the run and the holdout by the hash of
campaign and member), their coupons issued by :func:`loyalty.campaigns.issuing.issue_chunk`,
all on the campaign's day in the history (the services' ``now``).  Their audience is every
member who bought fresh food (fruit and vegetables, dairy, bread) in the four weeks before.

The members' answer to the offer is planted: a share of the treated members (``response``)
come back within the window for a stock-up basket of their usual products that redeems the
coupon, through the till's own path (:func:`loyalty.checkout.services.commit_checkout`, with
the sale's time as "now").  The holdout members receive nothing and shop as they always did,
so the uplift the results find is the one planted, blurred by the members' ordinary noise.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from loyalty.baskets.models import Basket
from loyalty.campaigns.issuing import issue_chunk
from loyalty.campaigns.models import Campaign, CampaignRun, CampaignTarget, TargetOutcome
from loyalty.campaigns.services import advance_campaign, create_campaign, launch_campaign
from loyalty.cards.models import Card, CardStatus
from loyalty.catalog.models import Category
from loyalty.checkout.services import BasketIn, LineIn, commit_checkout
from loyalty.config import Settings
from loyalty.coupons.models import Coupon
from loyalty.db import unit_of_work
from loyalty.demo.data import CURRENCY, STORES
from loyalty.demo.plan import ChainPlan, MemberPlan
from loyalty.members.models import Member
from loyalty.stores.models import Store, Till

RESPONSE_REF = "demo-response-{:06d}"  # not "demo-000123": the replay counts those


@dataclass(frozen=True)
class DemoCampaign:
    name: str
    offer: dict[str, Any]
    category: str | None  # the offer's category code (its id is the database's)
    days_before_end: int  # the run is planned this many days before the history ends
    length_days: int  # from start to end
    attribution_days: int
    holdout_percent: int
    response: float  # share of treated members who come back for the offer
    stock_up_minor: int  # a responder's basket is at least this big


CAMPAIGNS = (
    DemoCampaign(
        name="Spring stock-up: 20 AED off 150 AED", category=None,
        offer={"kind": "amount_off", "amount_minor": 2_000, "currency": CURRENCY,
               "min_spend_minor": 15_000},
        days_before_end=24, length_days=14, attribution_days=14, holdout_percent=25,
        response=0.45, stock_up_minor=16_000,
    ),
    DemoCampaign(
        name="Fresh week: 15% off fruit & vegetables", category="fresh-produce",
        offer={"kind": "percent_off", "percent": 15},
        days_before_end=4, length_days=30, attribution_days=14, holdout_percent=20,
        response=0.30, stock_up_minor=6_000,
    ),
)
AUDIENCE_DAYS = 28  # who bought fresh food in the four weeks before the campaign
AUDIENCE_CATEGORIES = ("fresh-produce", "dairy-eggs", "bakery")
MIN_HISTORY_DAYS = 14  # a campaign needs this much history before it for an audience


def seed_campaigns(factory: sessionmaker[Session], settings: Settings, plan: ChainPlan,
                   history_start: dt.datetime, history_end: dt.datetime) -> list[int]:
    """Plan, issue and answer the demo campaigns, one transaction each (a campaign already
    there is kept: an interrupted seed resumes); returns their ids.  A campaign that would
    start too early in the history for an audience is left out."""
    ids = []
    for n, spec in enumerate(CAMPAIGNS):
        planned_at = history_end - dt.timedelta(days=spec.days_before_end, hours=14)
        if planned_at - dt.timedelta(days=MIN_HISTORY_DAYS) < history_start:
            continue
        # One transaction per campaign, started afresh: the launch plans its run in a savepoint,
        # whose end the embedded relay takes for a commit; it must find no outbox rows of this
        # transaction waiting then (it would wait on SQLite's lock for the busy timeout).
        with unit_of_work(factory) as session:
            found = session.scalar(select(Campaign.id).where(Campaign.name == spec.name))
            if found is None:
                campaign, run = _launch(session, settings, spec, planned_at)
                rng = random.Random(plan.spec.seed * 100 + n)
                _respond(session, settings, plan, spec, campaign, run,
                         _members_by_plan(session, plan), rng, history_end)
                advance_campaign(session, campaign, min(campaign.ends_at, history_end))
                found = campaign.id
        ids.append(found)
    return ids


def _launch(session: Session, settings: Settings, spec: DemoCampaign,
            planned_at: dt.datetime) -> tuple[Campaign, CampaignRun]:
    """Create and launch the campaign on its day, and issue its coupons then (the chunk tasks
    the launch queued find nothing left to do)."""
    categories = dict(session.execute(select(Category.code, Category.id)).all())
    offer = dict(spec.offer)
    if spec.category is not None:
        offer["category_id"] = categories[spec.category]
    audience = {"or": [{"bought_category": categories[code], "within_days": AUDIENCE_DAYS}
                       for code in AUDIENCE_CATEGORIES]}
    campaign = create_campaign(session, {
        "name": spec.name, "kind": "targeted", "audience": audience, "offer": offer,
        "currency": CURRENCY, "holdout_percent": spec.holdout_percent,
        "attribution_days": spec.attribution_days, "coupon_valid_days": spec.attribution_days,
        "starts_at": planned_at, "ends_at": planned_at + dt.timedelta(days=spec.length_days),
    }, actor="demo", now=planned_at)
    launch_campaign(session, campaign.id, actor="demo", now=planned_at,
                    point_value_minor=settings.point_value_minor)
    run = session.scalar(select(CampaignRun).where(CampaignRun.campaign_id == campaign.id))
    if run is None:
        raise RuntimeError(f"demo campaign {spec.name!r} launched without a run")
    for chunk in range(run.chunks):
        issue_chunk(session, run.id, chunk, now=planned_at)
    return campaign, run


def _members_by_plan(session: Session, plan: ChainPlan) -> dict[int, tuple[MemberPlan, str]]:
    """Member id -> the member's plan and active card number."""
    by_phone = {m.phone: m for m in plan.members}
    rows = session.execute(
        select(Member.id, Member.phone, Card.number)
        .join(Card, (Card.member_id == Member.id) & (Card.status == CardStatus.ACTIVE))
        .where(Member.phone.in_(list(by_phone)))
    ).all()
    return {member_id: (by_phone[phone], number) for member_id, phone, number in rows}


def _respond(session: Session, settings: Settings, plan: ChainPlan, spec: DemoCampaign,
             campaign: Campaign, run: CampaignRun, members: dict[int, tuple[MemberPlan, str]],
             rng: random.Random, history_end: dt.datetime) -> None:
    issued = session.execute(
        select(CampaignTarget.member_id, Coupon.code)
        .join(Coupon, (Coupon.campaign_id == campaign.id)
              & (Coupon.member_id == CampaignTarget.member_id))
        .where(CampaignTarget.run_id == run.id,
               CampaignTarget.outcome == TargetOutcome.ISSUED)
        .order_by(CampaignTarget.member_id)
    ).all()
    tills = _tills(session)
    prices = {p.sku: p.price_minor for p in plan.products}
    fresh = [p.sku for p in plan.products if p.category == spec.category]
    last = min(run.planned_at + dt.timedelta(days=spec.attribution_days), history_end)
    seconds = (last - run.planned_at).total_seconds()
    n = _responses_so_far(session)
    for member_id, code in issued:
        if rng.random() >= spec.response or member_id not in members:
            continue
        member, card = members[member_id]
        at = run.planned_at + dt.timedelta(seconds=rng.uniform(0.02, 0.98) * seconds)
        store_id, till_id = tills[member.home_store]
        lines = _stock_up(rng, member, prices, fresh, spec.stock_up_minor)
        commit_checkout(session, settings, BasketIn(
            store_id=store_id, currency=CURRENCY, card_number=card, coupon_codes=(code,),
            lines=tuple(LineIn(sku, qty, prices[sku]) for sku, qty in lines),
            occurred_at=at, till_id=till_id, external_ref=RESPONSE_REF.format(n),
        ), now=at)
        n += 1


def _responses_so_far(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Basket)
                          .where(Basket.external_ref.like("demo-response-%"))) or 0


def _tills(session: Session) -> list[tuple[int, int]]:
    out = []
    for spec in STORES:
        store_id = session.scalar(select(Store.id).where(Store.code == spec.code))
        till_id = session.scalar(select(Till.id).where(Till.store_id == store_id)
                                 .order_by(Till.id).limit(1))
        out.append((store_id, till_id))
    return out


def _stock_up(rng: random.Random, member: MemberPlan, prices: dict[str, int],
              offer_skus: list[str], at_least: int) -> list[tuple[str, int]]:
    """The member's staples (and a product the offer is on) until the basket is big enough."""
    quantities: dict[str, int] = {}
    if offer_skus:
        quantities[rng.choice(offer_skus)] = rng.randint(1, 3)
    while sum(prices[s] * q for s, q in quantities.items()) < at_least:
        sku = rng.choice(member.staples)
        quantities[sku] = quantities.get(sku, 0) + 1
    return list(quantities.items())
