"""Plastic cards handed out in store, and a member claiming one on the portal.

A batch of plastic cards is enrolled ahead of printing: each card belongs to a member record of
its own with a placeholder name and no contact, and carries a claim code printed beside its
number (8 characters of Crockford's base32, 40 bits, shown as ``ABCD-EFGH``; only its hash is
kept).  The card works at the till from the first sale.  On the portal the holder gives the
number AND the code: the number alone is printed on the card's face and on receipts, so it
proves nothing; both together make the member record theirs (name, contact, password), and the
points already earned stay.  A claimed card's code is spent.
"""

from __future__ import annotations

import hmac
import secrets
from hashlib import sha256

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.accounts.models import MemberLogin
from loyalty.accounts.passwords import check_password
from loyalty.accounts.services import Contact, member_by_contact
from loyalty.audit.services import record_event
from loyalty.auth.passwords import hash_password
from loyalty.cards.models import CardStatus
from loyalty.cards.services import get_card
from loyalty.errors import (
    Conflict,
    InvalidInput,
    PaymentCardRefused,
    Unauthorized,
    UnknownCard,
)
from loyalty.members.models import Channel, Member
from loyalty.members.services import enrol_member, update_member

PLACEHOLDER_NAME = "Plastic card"  # until the holder claims it
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
CODE_LENGTH = 8


def new_claim_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def _normalised(code: str) -> str:
    """As the holder may type it: any case, with or without the dash or spaces; O and I, L
    read as 0 and 1, as Crockford's alphabet intends."""
    text = code.upper().replace("-", "").replace(" ", "")
    return text.translate(str.maketrans("OIL", "011"))


def hash_claim_code(code: str) -> str:
    return sha256(_normalised(code).encode()).hexdigest()


def stock_plastic_cards(session: Session, count: int, *, prefix: str, length: int,
                        actor: str = "cli") -> list[tuple[str, str]]:
    """Enrol ``count`` cards for printing; returns (number, claim code) pairs, shown once."""
    if not 1 <= count <= 10_000:
        raise InvalidInput("print 1 to 10,000 cards at a time")
    printed = []
    for _ in range(count):
        member, card = enrol_member(session, PLACEHOLDER_NAME, card_prefix=prefix,
                                    card_length=length, actor=actor)
        code = new_claim_code()
        card.claim_code_hash = hash_claim_code(code)
        printed.append((card.number, code))
    session.flush()
    record_event(session, actor, "card.stock_plastic", "cards", count=count)
    return printed


def claim_card(session: Session, *, number: str, code: str, name: str, contact: Contact,
               password: str, language: str, card_prefix: str, card_length: int) -> Member:
    """Make the plastic card's member record the holder's: their name, contact and password,
    unverified until the code sent to the contact comes back.  A wrong number or code, or a
    card already claimed, are one and the same :class:`Unauthorized`."""
    check_password(password)
    try:
        card = get_card(session, number.replace(" ", ""), card_prefix, card_length)
    except (PaymentCardRefused, UnknownCard):
        raise Unauthorized() from None
    stored = card.claim_code_hash
    if (stored is None or card.status is not CardStatus.ACTIVE
            or not hmac.compare_digest(stored, hash_claim_code(code))):
        raise Unauthorized()
    if session.scalar(select(MemberLogin.id).where(MemberLogin.member_id == card.member_id)):
        raise Unauthorized()
    owner = member_by_contact(session, contact)
    if owner is not None and owner.id != card.member_id:
        raise Conflict("this email or phone belongs to a member already",
                       code_hint="contact_taken")
    field = "email" if contact.channel is Channel.EMAIL else "phone"
    member = update_member(session, card.member_id,
                           {"name": name, field: contact.address, "language": language,
                            "preferred_channel": contact.channel.value},
                           actor=f"member:{card.member_id}")
    card.claim_code_hash = None
    session.add(MemberLogin(member_id=member.id, password_hash=hash_password(password)))
    session.flush()
    record_event(session, f"member:{member.id}", "account.claim_card", f"member:{member.id}",
                 card_id=card.id)
    return member
