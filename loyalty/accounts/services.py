"""Member accounts: joining on the portal, one-time codes, signing in, password reset.

A member signs in with the email or phone on their member record.  Their account
(:class:`MemberLogin`) is unusable until a one-time code sent to that email or phone has come
back (``verified_at``).  Every refusal to sign in is the same :class:`Unauthorized`, whichever
part was wrong, and an unknown person still costs one argon2 verification, so neither the
answer nor its timing tells who is a member.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass
from hashlib import sha256

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loyalty.accounts.models import CodePurpose, MemberLogin, OneTimeCode
from loyalty.accounts.passwords import check_password
from loyalty.audit.services import record_event
from loyalty.auth.passwords import hash_password, needs_rehash, password_matches
from loyalty.cards.models import Card
from loyalty.db import utcnow
from loyalty.errors import Conflict, InvalidInput, Unauthorized
from loyalty.members.models import Channel, Member
from loyalty.members.services import enrol_member, normalise_phone

CODE_LIFETIME = dt.timedelta(minutes=10)
CODE_MAX_FAILURES = 5


@dataclass(frozen=True)
class Contact:
    """Where a member's codes go: their email or phone, normalised."""

    channel: Channel
    address: str


def read_contact(raw: str) -> Contact:
    """An email address or an international phone number as a person types it."""
    raw = raw.strip()
    if "@" in raw:
        address = raw.lower()
        if len(address) > 254 or " " in address or address.count("@") != 1:
            raise InvalidInput("not an email address", code_hint="bad_contact")
        return Contact(Channel.EMAIL, address)
    try:
        return Contact(Channel.SMS, normalise_phone(raw))
    except InvalidInput as exc:
        raise InvalidInput("not an email address or phone number",
                           code_hint="bad_contact") from exc


def member_by_contact(session: Session, contact: Contact) -> Member | None:
    column = Member.email if contact.channel is Channel.EMAIL else Member.phone
    return session.scalar(select(Member).where(column == contact.address))


def join(
    session: Session,
    *,
    name: str,
    contact: Contact,
    password: str,
    language: str,
    card_prefix: str,
    card_length: int,
) -> tuple[Member, Card]:
    """A new member with a digital card and an unverified account.

    A contact already on a member record is refused (``contact_taken``): that member signs in
    or resets their password instead."""
    check_password(password)
    if member_by_contact(session, contact) is not None:
        raise Conflict("this email or phone belongs to a member already",
                       code_hint="contact_taken")
    member, card = enrol_member(
        session, name, card_prefix=card_prefix, card_length=card_length,
        email=contact.address if contact.channel is Channel.EMAIL else None,
        phone=contact.address if contact.channel is Channel.SMS else None,
        language=language, preferred_channel=contact.channel, actor="portal",
    )
    session.add(MemberLogin(member_id=member.id, password_hash=hash_password(password)))
    session.flush()
    record_event(session, f"member:{member.id}", "account.join", f"member:{member.id}")
    return member, card


def login_of(session: Session, member_id: int) -> MemberLogin | None:
    return session.scalar(select(MemberLogin).where(MemberLogin.member_id == member_id))


def _hash_code(code: str) -> str:
    return sha256(code.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedCode:
    id: int  # names the message that carries it
    code: str  # send it; never store or log it


def issue_code(session: Session, member_id: int, purpose: CodePurpose,
               *, now: dt.datetime | None = None) -> IssuedCode:
    """A fresh six-digit code for ``purpose``; any older unused one of the same purpose is
    spent, so only the newest works."""
    now = now or utcnow()
    session.execute(
        update(OneTimeCode)
        .where(OneTimeCode.member_id == member_id, OneTimeCode.purpose == purpose,
               OneTimeCode.used_at.is_(None))
        .values(used_at=now)
    )
    code = f"{secrets.randbelow(1_000_000):06d}"
    row = OneTimeCode(member_id=member_id, purpose=purpose, code_hash=_hash_code(code),
                      expires_at=now + CODE_LIFETIME)
    session.add(row)
    session.flush()
    return IssuedCode(row.id, code)


def use_code(session: Session, member_id: int, purpose: CodePurpose, code: str,
             *, now: dt.datetime | None = None) -> None:
    """Spend the member's live code for ``purpose`` if ``code`` is it, else
    :class:`Unauthorized`.  A wrong try counts; the fifth spends the code."""
    now = now or utcnow()
    row = session.scalar(
        select(OneTimeCode)
        .where(OneTimeCode.member_id == member_id, OneTimeCode.purpose == purpose,
               OneTimeCode.used_at.is_(None), OneTimeCode.expires_at > now)
        .order_by(OneTimeCode.id.desc())
        .limit(1)
    )
    if row is None:
        raise Unauthorized("no live code")
    if not hmac.compare_digest(row.code_hash, _hash_code(code.strip())):
        row.failed_attempts += 1
        if row.failed_attempts >= CODE_MAX_FAILURES:
            row.used_at = now
        session.flush()
        raise Unauthorized("wrong code")
    row.used_at = now
    session.flush()


def verify_contact(session: Session, member_id: int, code: str) -> Member:
    """The code sent at joining came back: the account can be used from now on, and the
    member is signed in."""
    use_code(session, member_id, CodePurpose.VERIFY, code)
    login = login_of(session, member_id)
    if login is None:
        raise Unauthorized("no account")
    if login.verified_at is None:
        login.verified_at = utcnow()
        record_event(session, f"member:{member_id}", "account.verify", f"member:{member_id}")
    member = session.get(Member, member_id)
    assert member is not None  # the login's foreign key
    return _signed_in(session, member, login)


def find_account(session: Session, contact: Contact) -> tuple[Member, MemberLogin] | None:
    """The member and account for this contact, if both exist (verified or not)."""
    member = member_by_contact(session, contact)
    login = login_of(session, member.id) if member is not None else None
    return (member, login) if member is not None and login is not None else None


def sign_in_with_password(session: Session, contact: Contact, password: str) -> Member:
    """The member whose verified account this is, or :class:`Unauthorized`."""
    found = find_account(session, contact)
    if not password_matches(found[1].password_hash if found else None, password):
        raise Unauthorized()
    assert found is not None  # a match needs a stored hash
    member, login = found
    if login.verified_at is None:
        raise Unauthorized()
    if needs_rehash(login.password_hash):
        login.password_hash = hash_password(password)
    return _signed_in(session, member, login)


def sign_in_with_code(session: Session, contact: Contact, code: str) -> Member:
    found = find_account(session, contact)
    if found is None or found[1].verified_at is None:
        raise Unauthorized()
    use_code(session, found[0].id, CodePurpose.SIGN_IN, code)
    return _signed_in(session, *found)


def _signed_in(session: Session, member: Member, login: MemberLogin) -> Member:
    login.last_sign_in_at = utcnow()
    record_event(session, f"member:{member.id}", "account.sign_in", f"member:{member.id}")
    session.flush()
    return member


def reset_password(session: Session, contact: Contact, code: str, new_password: str) -> Member:
    """A reset code and a new password: the password is replaced and the account verified (the
    code proved the contact).  Checks the password first: a refused one spends no code."""
    check_password(new_password)
    found = find_account(session, contact)
    if found is None:
        raise Unauthorized()
    member, login = found
    use_code(session, member.id, CodePurpose.RESET, code)
    login.password_hash = hash_password(new_password)
    login.verified_at = login.verified_at or utcnow()
    record_event(session, f"member:{member.id}", "account.password_reset", f"member:{member.id}")
    session.flush()
    return member

