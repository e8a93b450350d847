"""Cards: issue, look up for the till, block, replace."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.cards.models import Card, CardStatus
from loyalty.cards.numbers import is_programme_number, looks_like_payment_card, make_card_number
from loyalty.errors import CardBlocked, CardReplaced, PaymentCardRefused, UnknownCard


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


def find_usable_card(session: Session, number: str, prefix: str, length: int) -> Card:
    """The active card with this number, or the precise reason it cannot be used.

    A payment card number is refused before any lookup, and never echoed back.
    """
    number = number.strip()
    if looks_like_payment_card(number):
        raise PaymentCardRefused()
    if not is_programme_number(number, prefix, length):
        raise UnknownCard("not a card number of this programme")
    card = session.scalar(select(Card).where(Card.number == number))
    if card is None:
        raise UnknownCard()
    if card.status == CardStatus.BLOCKED:
        raise CardBlocked()
    if card.status == CardStatus.REPLACED:
        raise CardReplaced()
    return card
