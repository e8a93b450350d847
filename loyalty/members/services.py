"""Members: enrolment, profile, consent, notes."""

from __future__ import annotations

import datetime as dt

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.cards.models import Card
from loyalty.cards.services import issue_card
from loyalty.errors import Conflict, InvalidInput
from loyalty.ledger.services import open_member_account
from loyalty.members.models import Channel, Member


def normalise_phone(raw: str) -> str:
    """E.164, or InvalidInput.  Numbers must carry their country code (+...)."""
    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"phone {raw!r} is not a valid international number") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidInput(f"phone {raw!r} is not a valid number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def enrol_member(
    session: Session,
    name: str,
    *,
    card_prefix: str,
    card_length: int,
    phone: str | None = None,
    email: str | None = None,
    birth_date: dt.date | None = None,
    gender: str | None = None,
    language: str = "en",
    preferred_channel: Channel | str = Channel.SMS,
) -> tuple[Member, Card]:
    """Enrol a member: profile, points account and a first card, in one go."""
    if not name.strip():
        raise InvalidInput("a member needs a name")
    phone = normalise_phone(phone) if phone else None
    email = email.strip().lower() if email else None
    if phone and session.scalar(select(Member.id).where(Member.phone == phone)):
        raise Conflict("a member with this phone exists already", code_hint="duplicate_phone")
    if email and session.scalar(select(Member.id).where(Member.email == email)):
        raise Conflict("a member with this email exists already", code_hint="duplicate_email")
    member = Member(
        name=name.strip(),
        phone=phone,
        email=email,
        birth_date=birth_date,
        gender=gender,
        language=language,
        preferred_channel=Channel(preferred_channel),
    )
    session.add(member)
    session.flush()
    open_member_account(session, member.id)
    card = issue_card(session, member.id, card_prefix, card_length)
    return member, card
