"""``loyalty import members`` and ``loyalty import balances``: row by row through the
members' and the ledger's own write paths (these files are as long as the member list, and
each row carries rules those paths already enforce).  Baskets, which are many, are imported
set-based in :mod:`loyalty.imports.baskets`.

Each row runs in a savepoint: a bad row is reported with its place in the file and changes
nothing, the good rows are kept.  Both imports are idempotent by the member's reference.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.db import utcnow
from loyalty.errors import DomainError
from loyalty.imports import values
from loyalty.imports.reading import EXTRA_FIELDS
from loyalty.ledger.models import Entry, Posting, PostingKind
from loyalty.ledger.services import PostingRequest, earn_points, member_account
from loyalty.members.models import Channel, Member
from loyalty.members.services import (
    clean_external_ref,
    current_consents,
    enrol_member,
    record_consent,
    update_member,
)

MEMBER_COLUMNS = ("reference", "name")
MEMBER_OPTIONAL = ("phone", "email", "birth_date", "gender", "language", "preferred_channel")
BALANCE_COLUMNS = ("reference", "points")
OPENING_BALANCE = "opening balance"
IMPORT_ACTOR = "import"
CONSENT_TEXT_DEFAULT = "import"


@dataclass
class RowReport:
    """Counts of an import by rows, and the reasons of the rejected ones."""

    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    @property
    def rejected(self) -> int:
        return self.counts.get("rejected", 0)

    def summary(self) -> str:
        return ", ".join(f"{outcome} {n}" for outcome, n in self.counts.items()) or "no rows"


def _each_row(session: Session, rows: Iterable[tuple[int, dict[str, Any]]], name: str,
              place: str, report: RowReport, handle: Any) -> RowReport:
    for number, row in rows:
        try:
            with session.begin_nested():
                if EXTRA_FIELDS in row:
                    raise values.BadValue("more fields than the header has columns")
                report.count(handle(session, row))
        except (values.BadValue, DomainError) as exc:
            reason = exc.detail if isinstance(exc, DomainError) else str(exc)
            report.errors.append(f"{name}: {place} {number}: {reason}")
            report.count("rejected")
    return report


# --- members -----------------------------------------------------------------------------


def import_members(
    session: Session, rows: Iterable[tuple[int, dict[str, Any]]], *, name: str, place: str,
    card_prefix: str, card_length: int,
) -> RowReport:
    """Create or update members by ``reference`` (the retailer's customer id), and record
    the consent decisions the file gives.

    A new reference is enrolled as at the desk (profile, points account, a first card); a
    known one has the fields the file gives updated (an empty cell changes nothing).  A
    consent decision is appended (consent is append-only) only if it is newer than the
    member's current one on that channel and differs from it, so a second run adds nothing
    and an older file never overrides a newer decision.  Flushes, never commits.
    """
    def handle(session: Session, row: dict[str, Any]) -> str:
        return _import_member(session, row, card_prefix, card_length)

    return _each_row(session, rows, name, place, RowReport(), handle)


def _profile(row: dict[str, Any]) -> dict[str, Any]:
    profile: dict[str, Any] = {"name": values.text(row, "name", max_length=200)}
    for column in MEMBER_OPTIONAL:
        if column == "birth_date":
            value: Any = values.date(row, column)
        else:
            value = values.text(row, column, required=False, max_length=254)
            if value and column in ("gender", "preferred_channel"):
                value = value.lower()
        if value is not None:
            profile[column] = value
    return profile


def _import_member(session: Session, row: dict[str, Any], card_prefix: str,
                   card_length: int) -> str:
    reference = clean_external_ref(values.text(row, "reference"))
    profile = _profile(row)
    member = session.scalar(select(Member).where(Member.external_ref == reference))
    if member is None:
        member, _card = enrol_member(session, profile.pop("name"), card_prefix=card_prefix,
                                     card_length=card_length, external_ref=reference,
                                     actor=IMPORT_ACTOR, **profile)
        outcome = "created"
    else:
        before = {k: getattr(member, k) for k in profile}
        update_member(session, member.id, profile, actor=IMPORT_ACTOR)
        changed = any(getattr(member, k) != v for k, v in before.items())
        outcome = "updated" if changed else "unchanged"
    if _import_consents(session, member.id, row) and outcome == "unchanged":
        outcome = "updated"
    return outcome


def _import_consents(session: Session, member_id: int, row: dict[str, Any]) -> bool:
    """Append the file's consent decisions that are news; whether any was."""
    current = current_consents(session, member_id)
    text_version = (values.text(row, "consent_text_version", required=False, max_length=32)
                    or CONSENT_TEXT_DEFAULT)
    appended = False
    for channel in Channel:
        granted = values.yes_no(row, f"consent_{channel.value}")
        if granted is None:
            continue
        at = _aware(values.timestamp(row, f"consent_{channel.value}_date"))
        now = current[channel]
        if now is not None and (now.granted == granted or now.recorded_at >= at):
            continue
        record_consent(session, member_id, channel, granted, text_version, source="import",
                       at=at)
        appended = True
    return appended


def _aware(when: dt.datetime) -> dt.datetime:
    """A consent date without a zone is taken as UTC (a date alone: its midnight)."""
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


# --- opening balances ---------------------------------------------------------------------


def import_balances(
    session: Session, rows: Iterable[tuple[int, dict[str, Any]]], *, name: str, place: str,
    lifetime_days: int, today: dt.date | None = None,
) -> RowReport:
    """Post each member's opening balance: one ``adjust`` posting with the reason "opening
    balance" through the ledger's write path (a lot that expires on ``expiry``, or after the
    programme's lifetime when the cell is empty).

    Idempotent: a member who already has an opening balance is left as they are (and a file
    that says a different number for them is reported).  Flushes, never commits.
    """
    today = today or utcnow().date()

    def handle(session: Session, row: dict[str, Any]) -> str:
        return _import_balance(session, row, lifetime_days, today)

    return _each_row(session, rows, name, place, RowReport(), handle)


def _import_balance(session: Session, row: dict[str, Any], lifetime_days: int,
                    today: dt.date) -> str:
    reference = values.text(row, "reference")
    points = values.whole_number(row, "points")
    if points == 0:
        return "nothing to post"
    expiry = values.date(row, "expiry")
    if expiry is not None and expiry <= today:
        raise values.BadValue(f"expiry {expiry.isoformat()} is not after today")
    member_id = session.scalar(select(Member.id).where(Member.external_ref == reference))
    if member_id is None:
        raise values.BadValue(f"unknown member reference {reference!r}")
    account = member_account(session, member_id, lock=True)  # before the check: no race
    posted = session.scalar(select(Posting.id).where(
        Posting.member_id == member_id, Posting.kind == PostingKind.ADJUST,
        Posting.reason == OPENING_BALANCE).limit(1))
    if posted is not None:
        existing = _opening_points(session, posted, account.id)
        if existing != points:
            raise values.BadValue(f"member {reference!r} already has an opening balance of "
                                  f"{existing} points (this file says {points}); left as it is")
        return "already posted"
    days = (expiry - today).days if expiry is not None else lifetime_days
    earn_points(session, PostingRequest(PostingKind.ADJUST, member_id, points, utcnow(),
                                        reason=OPENING_BALANCE), days, account)
    return "posted"


def _opening_points(session: Session, posting_id: int, account_id: int) -> int:
    return int(session.scalar(select(Entry.amount).where(
        Entry.posting_id == posting_id, Entry.account_id == account_id)) or 0)
