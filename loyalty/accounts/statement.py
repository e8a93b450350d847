"""What a member sees of their own account: balance, tier and progress, and their baskets.

Read-only; every query is bound to the one member id the caller passes (the portal passes the
signed-in member's and nothing else)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.baskets.models import Basket
from loyalty.cards.models import Card, CardStatus
from loyalty.db import utcnow
from loyalty.ledger.services import member_balance
from loyalty.members.models import Member
from loyalty.stores.models import Store
from loyalty.tiers.models import Tier
from loyalty.tiers.services import list_tiers, trailing_spend


@dataclass(frozen=True)
class BasketLine:
    store: str
    occurred_at: dt.datetime
    currency: str
    paid_minor: int
    points: int  # earned, with bonus, less redeemed


@dataclass(frozen=True)
class TierProgress:
    current: str | None
    next: str | None
    spend_minor: int  # trailing 12 months, net of refunds
    needed_minor: int  # still to spend to reach ``next`` (0 at the top)

    @property
    def percent(self) -> int:
        total = self.spend_minor + self.needed_minor
        return 100 if not total or self.next is None else self.spend_minor * 100 // total


@dataclass(frozen=True)
class Statement:
    name: str
    balance: int
    currency: str  # the programme's (one programme, one currency): the tier thresholds' unit
    cards: list[str]  # active card numbers
    tier: TierProgress
    baskets: list[BasketLine]


def statement(session: Session, member_id: int, *, baskets: int = 50) -> Statement:
    member = session.get(Member, member_id)
    if member is None:
        raise LookupError(member_id)
    rows = session.execute(
        select(Store.name, Basket.occurred_at, Basket.currency, Basket.payable_minor,
               Basket.points_earned + Basket.bonus_points - Basket.points_redeemed)
        .join(Store, Store.id == Basket.store_id)
        .where(Basket.member_id == member_id)
        .order_by(Basket.occurred_at.desc(), Basket.id.desc())
        .limit(baskets)
    ).all()
    cards = active_cards(session, member_id)
    return Statement(
        name=member.name,
        balance=member_balance(session, member_id),
        currency=rows[0].currency if rows else _programme_currency(session),
        cards=cards,
        tier=_progress(session, member),
        baskets=[BasketLine(*row) for row in rows],
    )


def active_cards(session: Session, member_id: int) -> list[str]:
    """The member's active card numbers, oldest first."""
    return list(session.scalars(select(Card.number).where(
        Card.member_id == member_id, Card.status == CardStatus.ACTIVE).order_by(Card.id)))


def _programme_currency(session: Session) -> str:
    return session.scalar(select(Store.currency).order_by(Store.id).limit(1)) or "USD"


def _progress(session: Session, member: Member) -> TierProgress:
    tiers = list_tiers(session)
    spend = trailing_spend(session, member.id, utcnow())
    current: Tier | None = next((t for t in tiers if t.id == member.tier_id), None)
    higher = [t for t in tiers if current is None or t.rank > current.rank]
    target = higher[0] if higher else None
    return TierProgress(
        current=current.name if current else None,
        next=target.name if target else None,
        spend_minor=max(spend, 0),
        needed_minor=max(target.min_spend_minor - spend, 0) if target else 0,
    )
