"""Cards: issue, look up for the till, block, replace.

A card is only a key to its member: points live on the member's account, never on a card, so
blocking or replacing a card moves no points.  A card is ``active``, ``blocked`` (lost or
misused; refused at the till) or ``replaced`` (superseded by ``replaced_by_id``).

Card numbers of payment cards are refused before any lookup and never echoed, logged or stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from loyalty.audit.services import record_event
from loyalty.cards.models import Card, CardStatus
from loyalty.cards.numbers import is_programme_number, looks_like_payment_card, make_card_number
from loyalty.coupons.models import Coupon
from loyalty.coupons.services import active_coupons
from loyalty.db import utcnow
from loyalty.errors import (
    CardBlocked,
    CardReplaced,
    InvalidInput,
    PaymentCardRefused,
    UnknownCard,
)
from loyalty.ledger.models import Account
from loyalty.ledger.services import member_account
from loyalty.members.models import Member
from loyalty.stores.models import Store
from loyalty.tiers.models import Tier

MAX_REASON_CHARS = 200


def issue_card(session: Session, member_id: int, prefix: str, length: int) -> Card:
    """Issue a new active card with a fresh, unused programme number."""
    while True:
        number = make_card_number(prefix, length)
        if session.scalar(select(Card.id).where(Card.number == number)) is None:
            break
    card = Card(number=number, member_id=member_id, status=CardStatus.ACTIVE)
    session.add(card)
    session.flush()
    return card


def _programme_number(number: str, prefix: str, length: int) -> str:
    """The number stripped, refused if a payment card's (before any query, never echoed) or
    not one of this programme's."""
    number = number.strip()
    if looks_like_payment_card(number):
        raise PaymentCardRefused()
    if not is_programme_number(number, prefix, length):
        raise UnknownCard("not a card number of this programme")
    return number


def get_card(session: Session, number: str, prefix: str, length: int) -> Card:
    """The card with this number, whatever its status.

    Raises PaymentCardRefused for a payment card number (checked first, before any query, and
    never echoed) and UnknownCard for anything that is not one of our cards.
    """
    number = _programme_number(number, prefix, length)
    card = session.scalar(select(Card).where(Card.number == number))
    if card is None:
        raise UnknownCard()
    return card


def _check_usable(card: Card) -> Card:
    if card.status == CardStatus.BLOCKED:
        raise CardBlocked()
    if card.status == CardStatus.REPLACED:
        raise CardReplaced()
    return card


def find_usable_card(session: Session, number: str, prefix: str, length: int) -> Card:
    """The active card with this number, or the precise reason it cannot be used.

    A payment card number is refused before any lookup, and never echoed back.
    """
    return _check_usable(get_card(session, number, prefix, length))


# Built once: a till presents a card on every identify and every sale.
_CARD_FOR_SALE = (
    select(Card, Member, Account, Store)
    .join(Member, Member.id == Card.member_id)
    .join(Account, Account.member_id == Member.id)
    .join(Store, Store.id == bindparam("store_id"))
    .where(Card.number == bindparam("number"))
    .with_for_update(of=Account)
    # The locked read must replace any stale copy of the account in the session.
    .execution_options(populate_existing=True)
)


def find_usable_card_for_sale(
    session: Session, number: str, prefix: str, length: int, store_id: int
) -> tuple[Card, Member, Account, Store | None]:
    """:func:`find_usable_card`, its member, the member's points account locked for the sale
    (``FOR UPDATE``, the first lock a checkout takes) and the sale's store, in one query.

    Same refusals, in the same order, as :func:`find_usable_card` then
    ``ledger.services.member_account``; an unknown store comes back as None, for the caller.
    """
    number = _programme_number(number, prefix, length)
    row = session.execute(_CARD_FOR_SALE, {"number": number, "store_id": store_id}).first()
    if row is None:  # no such card, or no such store, or (never in practice) no account
        card = find_usable_card(session, number, prefix, length)
        return card, card.member, member_account(session, card.member_id, lock=True), None
    card, member, account, store = row
    return _check_usable(card), member, account, store


def _reason(reason: str | None) -> str | None:
    reason = (reason or "").strip() or None
    if reason and len(reason) > MAX_REASON_CHARS:
        raise InvalidInput(f"reason has at most {MAX_REASON_CHARS} characters")
    return reason


def _change_status(card: Card, status: CardStatus, reason: str | None) -> None:
    card.status = status
    card.status_changed_at = utcnow()
    card.status_reason = _reason(reason)


def block_card(
    session: Session, number: str, prefix: str, length: int, *, reason: str | None, actor: str
) -> Card:
    """Block a card (reported lost or misused): the till refuses it from now on.

    Idempotent: blocking a blocked card changes nothing.  A replaced card cannot be blocked
    (CardReplaced): block its successor.  Effects: audit event ``card.block``.  The member's
    points are untouched.
    """
    card = get_card(session, number, prefix, length)
    if card.status == CardStatus.REPLACED:
        raise CardReplaced("this card was replaced; block the new card instead")
    if card.status == CardStatus.BLOCKED:
        return card
    _change_status(card, CardStatus.BLOCKED, reason)
    session.flush()
    record_event(session, actor, "card.block", f"card:{card.id}",
                 member_id=card.member_id, reason=card.status_reason)
    return card


@dataclass(frozen=True)
class Replacement:
    old: Card
    new: Card


def replace_card(
    session: Session, number: str, prefix: str, length: int, *, reason: str | None, actor: str
) -> Replacement:
    """Replace a lost or damaged card (active or blocked) by a new active card.

    The old card becomes ``replaced`` with ``replaced_by_id`` pointing at the new one, so the
    till refuses it with ``card_replaced``.  The member keeps every point: points live on the
    member's account.  A card already replaced raises CardReplaced, so a retried request never
    issues a second new card.  Effects: audit event ``card.replace``.
    """
    old = get_card(session, number, prefix, length)
    if old.status == CardStatus.REPLACED:
        raise CardReplaced("this card was replaced already")
    new = issue_card(session, old.member_id, prefix, length)
    old.replaced_by_id = new.id
    _change_status(old, CardStatus.REPLACED, reason)
    session.flush()
    record_event(session, actor, "card.replace", f"card:{old.id}",
                 member_id=old.member_id, new_card_id=new.id, reason=old.status_reason)
    return Replacement(old, new)


@dataclass(frozen=True)
class Identity:
    """What a till learns when a card is presented."""

    card: Card
    member: Member
    tier: Tier | None
    balance: int
    coupons: Sequence[Coupon]

    @property
    def redeemable_points(self) -> int:
        # A negative balance (a return after spending) leaves nothing to redeem.
        return max(self.balance, 0)


_IDENTIFY = (
    select(Card, Member, Tier, Account.balance)
    .join(Member, Member.id == Card.member_id)
    .outerjoin(Tier, Tier.id == Member.tier_id)
    .outerjoin(Account, Account.member_id == Member.id)
    .where(Card.number == bindparam("number"))
)


def identify_card(
    session: Session, number: str, prefix: str, length: int, *,
    at: dt.datetime | None = None, store_id: int | None = None,
) -> Identity:
    """Identify the member behind a presented card, for the till.  Reads only.

    Raises PaymentCardRefused, UnknownCard, CardBlocked or CardReplaced (see find_usable_card).
    Coupons are those usable now, in ``store_id`` when given.
    """
    number = _programme_number(number, prefix, length)
    row = session.execute(_IDENTIFY, {"number": number}).first()
    if row is None:
        raise UnknownCard()
    card, member, tier, balance = row
    _check_usable(card)
    coupons = active_coupons(session, member.id, at or utcnow(), store_id)
    return Identity(card, member, tier, balance or 0, coupons)
