"""Members: enrolment, profile, marketing consent and the staff notes timeline.

Members belong to the whole chain, not to one store: any store's staff may look them up.
Consent is append-only: each decision is a new :class:`ConsentRecord`, and the member's current
consent on a channel is the newest record for it (no record: no consent).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loyalty.audit.services import record_event
from loyalty.cards.models import Card
from loyalty.cards.services import issue_card
from loyalty.db import utcnow
from loyalty.errors import Conflict, InvalidInput, NotFound
from loyalty.ledger.models import Account
from loyalty.ledger.services import open_member_account
from loyalty.members.models import Channel, ConsentRecord, Member, MemberNote
from loyalty.staff.models import StaffUser
from loyalty.tiers.models import Tier

# A language tag as the portal and slips use it: "en", "ar", "fa", "pt-BR".
LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
GENDERS = ("female", "male", "other")
PROFILE_FIELDS = frozenset(
    {"name", "phone", "email", "birth_date", "gender", "language", "preferred_channel"}
)
MAX_NOTE_CHARS = 4000


def normalise_phone(raw: str, region: str | None = None) -> str:
    """E.164, or InvalidInput.

    Without ``region`` the number must carry its country code (+...); with one (ISO 3166
    alpha-2, e.g. "AE") a national number as a cashier types it is read in that country.
    """
    try:
        parsed = phonenumbers.parse(raw, region.upper() if region else None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput("phone is not a valid international number (+country code)") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidInput("phone is not a valid number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _clean_profile(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalise profile fields; None clears an optional field."""
    unknown = set(changes) - PROFILE_FIELDS
    if unknown:
        raise InvalidInput(f"unknown profile fields: {', '.join(sorted(unknown))}")
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "name":
            if value is None or not str(value).strip():
                raise InvalidInput("a member needs a name")
            value = str(value).strip()
        elif name == "phone":
            value = normalise_phone(value) if value else None
        elif name == "email":
            value = value.strip().lower() if value else None
            if value and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
                raise InvalidInput("email is not a valid address")
        elif name == "birth_date":
            if value is not None and not dt.date(1900, 1, 1) <= value <= dt.date.today():
                raise InvalidInput("birth_date must be between 1900-01-01 and today")
        elif name == "gender":
            if value is not None and value not in GENDERS:
                raise InvalidInput(f"gender must be one of {', '.join(GENDERS)}")
        elif name == "language":
            if not value or not LANGUAGE_TAG.match(value):
                raise InvalidInput("language must be a language tag such as 'en' or 'ar'")
        elif name == "preferred_channel":
            try:
                value = Channel(value)
            except ValueError as exc:
                raise InvalidInput("preferred_channel must be 'email' or 'sms'") from exc
        clean[name] = value
    return clean


def clean_external_ref(value: str | None) -> str | None:
    """The retailer's customer id, trimmed; None or 1-64 characters."""
    if value is None:
        return None
    value = str(value).strip()
    if not 1 <= len(value) <= 64:
        raise InvalidInput("external_ref must have 1 to 64 characters")
    return value


def _check_unique(session: Session, clean: Mapping[str, Any], member_id: int | None) -> None:
    for column, label in ((Member.phone, "phone"), (Member.email, "email"),
                          (Member.external_ref, "external_ref")):
        value = clean.get(label)
        if not value:
            continue
        owner = session.scalar(select(Member.id).where(column == value))
        if owner is not None and owner != member_id:
            raise Conflict(f"another member has this {label}", code_hint=f"duplicate_{label}")


def _flush_unique(session: Session) -> None:
    """Flush; a concurrent writer that took the same phone, email or reference first becomes
    a 409."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("another member has this phone, email or external_ref",
                       code_hint="duplicate_contact") from exc


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
    external_ref: str | None = None,
    actor: str = "system",
) -> tuple[Member, Card]:
    """Enrol a member: profile, points account and a first card, in one go.

    Invariants: phone (E.164), email and external_ref (the retailer's own customer id) are
    unique across members.  Effects: one member, one points account with balance 0, one
    active card, one audit event ``member.enrol``.
    """
    clean = _clean_profile({
        "name": name, "phone": phone, "email": email, "birth_date": birth_date,
        "gender": gender, "language": language, "preferred_channel": preferred_channel,
    })
    clean["external_ref"] = clean_external_ref(external_ref)
    _check_unique(session, clean, None)
    member = Member(**clean)
    session.add(member)
    _flush_unique(session)
    open_member_account(session, member.id)
    card = issue_card(session, member.id, card_prefix, card_length)
    record_event(session, actor, "member.enrol", f"member:{member.id}", card_id=card.id)
    return member, card


def get_member(session: Session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"no member {member_id}", code_hint="unknown_member")
    return member


@dataclass(frozen=True)
class MemberProfile:
    """A member as staff see them: profile, tier, balance, cards and current consent."""

    member: Member
    tier: Tier | None
    balance: int
    cards: Sequence[Card]
    consents: Mapping[Channel, ConsentRecord | None]


def member_profile(session: Session, member_id: int) -> MemberProfile:
    member = get_member(session, member_id)
    tier = session.get(Tier, member.tier_id) if member.tier_id else None
    balance = session.scalar(select(Account.balance).where(Account.member_id == member_id))
    cards = session.scalars(
        select(Card).where(Card.member_id == member_id).order_by(Card.id)
    ).all()
    return MemberProfile(member, tier, balance or 0, cards, current_consents(session, member_id))


def update_member(
    session: Session, member_id: int, changes: Mapping[str, Any], *, actor: str
) -> Member:
    """Change profile fields (only those given; None clears an optional one).

    Invariants as at enrolment.  Effects: an audit event ``member.update`` naming the changed
    fields (not their values: the audit log holds no personal data beyond ids).
    """
    member = get_member(session, member_id)
    clean = _clean_profile(changes)
    _check_unique(session, clean, member_id)
    changed = sorted(k for k, v in clean.items() if getattr(member, k) != v)
    for name in changed:
        setattr(member, name, clean[name])
    if changed:
        _flush_unique(session)
        record_event(session, actor, "member.update", f"member:{member_id}", fields=changed)
    return member


def find_members(
    session: Session, *, phone: str | None = None, email: str | None = None,
    region: str | None = None,
) -> list[Member]:
    """Members matching every filter given (phone and email are unique: at most one each)."""
    if not phone and not email:
        raise InvalidInput("search by phone or email")
    stmt = select(Member).order_by(Member.id)
    if phone:
        stmt = stmt.where(Member.phone == normalise_phone(phone, region))
    if email:
        stmt = stmt.where(Member.email == email.strip().lower())
    return list(session.scalars(stmt).all())


def record_consent(
    session: Session,
    member_id: int,
    channel: Channel | str,
    granted: bool,
    text_version: str,
    *,
    source: str,
    at: dt.datetime | None = None,
) -> ConsentRecord:
    """Append one consent decision (granted or withdrawn) for one channel.

    Never updates an earlier record: the newest record per channel is the current consent,
    and the history is the proof of what the member agreed to, when, under which text.
    """
    get_member(session, member_id)
    try:
        channel = Channel(channel)
    except ValueError as exc:
        raise InvalidInput("channel must be 'email' or 'sms'") from exc
    text_version = text_version.strip()
    if not text_version or len(text_version) > 32:
        raise InvalidInput("text_version must name the consent text (1-32 characters)")
    record = ConsentRecord(
        member_id=member_id, channel=channel, granted=granted, text_version=text_version,
        recorded_at=at or utcnow(), source=source[:32],
    )
    session.add(record)
    session.flush()
    return record


def current_consents(session: Session, member_id: int) -> dict[Channel, ConsentRecord | None]:
    """The newest record per channel (None where the member never decided: no consent)."""
    current: dict[Channel, ConsentRecord | None] = dict.fromkeys(Channel)
    for record in consent_history(session, member_id):
        if current[record.channel] is None:
            current[record.channel] = record
    return current


def consent_history(session: Session, member_id: int) -> list[ConsentRecord]:
    """Every consent decision of the member, newest first."""
    get_member(session, member_id)
    return list(session.scalars(
        select(ConsentRecord).where(ConsentRecord.member_id == member_id)
        .order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc())
    ).all())


@dataclass(frozen=True)
class NoteLine:
    id: int
    body: str
    created_at: dt.datetime
    staff_id: int | None
    author: str | None


def add_note(session: Session, member_id: int, body: str, *, staff_id: int | None) -> NoteLine:
    """Append a staff note to the member's timeline (notes are never edited or deleted)."""
    get_member(session, member_id)
    body = body.strip()
    if not body or len(body) > MAX_NOTE_CHARS:
        raise InvalidInput(f"a note has 1 to {MAX_NOTE_CHARS} characters")
    note = MemberNote(member_id=member_id, staff_id=staff_id, body=body)
    session.add(note)
    session.flush()
    staff = session.get(StaffUser, staff_id) if staff_id else None
    author = (staff.full_name or staff.username) if staff else None
    return NoteLine(note.id, note.body, note.created_at, staff_id, author)


def member_notes(
    session: Session, member_id: int, offset: int, limit: int
) -> tuple[list[NoteLine], int]:
    """The member's notes timeline, newest first, with each author's name; and the total."""
    get_member(session, member_id)
    total = session.scalar(
        select(func.count()).select_from(MemberNote).where(MemberNote.member_id == member_id)
    ) or 0
    rows = session.execute(
        select(MemberNote, StaffUser.full_name, StaffUser.username)
        .outerjoin(StaffUser, StaffUser.id == MemberNote.staff_id)
        .where(MemberNote.member_id == member_id)
        .order_by(MemberNote.created_at.desc(), MemberNote.id.desc())
        .offset(offset).limit(limit)
    ).all()
    lines = [
        NoteLine(note.id, note.body, note.created_at, note.staff_id, full_name or username)
        for note, full_name, username in rows
    ]
    return lines, total


def issue_extra_card(
    session: Session, member_id: int, *, card_prefix: str, card_length: int, actor: str
) -> Card:
    """Give the member one more active card (a second card for the household, say)."""
    get_member(session, member_id)
    card = issue_card(session, member_id, card_prefix, card_length)
    record_event(session, actor, "card.issue", f"member:{member_id}", card_id=card.id)
    return card
