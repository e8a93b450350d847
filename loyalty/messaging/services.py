"""Messages: queue one for a member, claim it for sending, record what the provider said.

The write path is split in two transactions around the provider call (see
:mod:`loyalty.messaging.delivery`): :func:`claim_message` marks the row ``sending`` and counts
the attempt before anything leaves; :func:`record_outcome` records the answer.  A worker that dies
in between leaves ``sending`` behind, which :func:`sweep_messages` turns into ``unknown`` (for
review) rather than sending again: at most once (docs/MESSAGING.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from loyalty.audit.services import record_event
from loyalty.baskets.queries import home_store
from loyalty.db import is_postgres, utcnow
from loyalty.errors import InvalidInput
from loyalty.members.models import Channel, ConsentRecord, Member
from loyalty.members.services import get_member, record_consent
from loyalty.messaging.models import Message, MessageChannel, MessageStatus
from loyalty.messaging.templates import check_context, message_language, render
from loyalty.outbox.services import enqueue
from loyalty.stores.models import Store

DELIVER_TASK = "messaging.deliver"
# What the member saw when they withdrew: the unsubscribe page's text, by version.
UNSUBSCRIBE_TEXT_VERSION = "unsubscribe-1"
OPEN = (MessageStatus.QUEUED, MessageStatus.DEFERRED)


@dataclass(frozen=True)
class QuietHours:
    """A nightly window (local time of the store) in which nothing is pushed; may wrap
    midnight (21:00-08:00).  ``start == end`` means no quiet hours."""

    start: dt.time
    end: dt.time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """``"21:00-08:00"``; empty means none.  ValueError for anything else."""
        if not text.strip():
            return None
        start, _, end = text.partition("-")
        parsed = cls(dt.time.fromisoformat(start.strip()), dt.time.fromisoformat(end.strip()))
        return None if parsed.start == parsed.end else parsed

    def ends_after(self, now: dt.datetime, timezone: str) -> dt.datetime | None:
        """If ``now`` (aware) falls in the window in ``timezone``, the UTC instant it ends."""
        zone = ZoneInfo(timezone)
        local = now.astimezone(zone)
        clock = local.time().replace(tzinfo=None)
        wraps = self.start > self.end
        if wraps:
            inside = clock >= self.start or clock < self.end
        else:
            inside = self.start <= clock < self.end
        if not inside:
            return None
        day = local.date()
        if wraps and clock >= self.start:
            day += dt.timedelta(days=1)
        # Wall clock to instant: zoneinfo picks the right offset, across a DST change too.
        return dt.datetime.combine(day, self.end, tzinfo=zone).astimezone(dt.UTC)


@dataclass(frozen=True)
class SendingPolicy:
    quiet_hours: QuietHours | None
    default_timezone: str = "UTC"
    max_attempts: int = 5
    retry_base_seconds: int = 60
    retry_max_seconds: int = 3600
    # A claim older than this belongs to a worker that died (a send takes seconds).
    stale_after_seconds: int = 600

    def backoff(self, attempts: int) -> dt.timedelta:
        """Wait before attempt ``attempts + 1``: base, 2 x base, 4 x base ..., capped."""
        seconds = self.retry_base_seconds * 2 ** max(attempts - 1, 0)
        return dt.timedelta(seconds=min(seconds, self.retry_max_seconds))


def consent_granted(session: Session, member_id: int, channel: Channel | str) -> bool:
    """The member's current consent on ``channel``: their newest decision (none: no)."""
    granted = session.scalar(
        select(ConsentRecord.granted)
        .where(ConsentRecord.member_id == member_id, ConsentRecord.channel == Channel(channel))
        .order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc())
        .limit(1)
    )
    return bool(granted)


def consenting_members(channel: Channel | str):  # type: ignore[no-untyped-def]
    """A select of the ids of members whose newest decision on ``channel`` is a grant, for
    audiences of many members (one query, no history read into Python)."""
    newer = aliased(ConsentRecord)
    channel = Channel(channel)
    later = select(newer.id).where(
        newer.member_id == ConsentRecord.member_id, newer.channel == channel,
        (newer.recorded_at > ConsentRecord.recorded_at)
        | and_(newer.recorded_at == ConsentRecord.recorded_at, newer.id > ConsentRecord.id),
    )
    return select(ConsentRecord.member_id).where(
        ConsentRecord.channel == channel, ConsentRecord.granted.is_(True), ~later.exists()
    )


def home_store_id(session: Session, member_id: int) -> int | None:
    """The member's home store (loyalty.baskets.queries.home_store, the store of most of their
    baskets; members carry no chosen store yet): the store whose clock decides quiet hours."""
    return session.scalar(home_store(member_id))


def send_message(
    session: Session,
    member_id: int,
    template: str,
    context: Mapping[str, str | int],
    occasion_key: str,
    *,
    channel: MessageChannel | str | None = None,
    store_id: int | None = None,
) -> Message:
    """Queue ``template`` for the member on ``channel`` (default: the one they chose).

    Invariants: one message per member, template and occasion (``occasion_key``, e.g.
    ``campaign:12`` or ``birthday:2027``): asking again returns the first, changed or not.
    Effects: one ``message`` row and, unless suppressed (no consent on the channel, no address
    for it), one outbox row for ``messaging.deliver``.  Flushes, never commits.
    """
    check_context(template, context)
    occasion_key = occasion_key.strip()
    if not occasion_key or len(occasion_key) > 120:
        raise InvalidInput("occasion_key names the occasion (1-120 characters)")
    member = get_member(session, member_id)
    key = f"{template}:{occasion_key}"
    existing = _find(session, member_id, key)
    if existing is not None:
        return existing
    message = Message(
        member_id=member_id, channel=_channel(member, channel), template=template,
        language=message_language(member.language), context=dict(context),
        idempotency_key=key, store_id=store_id or home_store_id(session, member_id),
        status=MessageStatus.QUEUED, attempts=0,
    )
    reason = _suppression(session, member, message.channel)
    if reason:
        message.status, message.last_error = MessageStatus.SUPPRESSED, reason
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:  # the same occasion queued at this moment by another transaction
        found = _find(session, member_id, key)
        if found is None:
            raise
        return found
    if message.status is MessageStatus.QUEUED:
        enqueue(session, DELIVER_TASK, message_id=message.id)
    return message


def _find(session: Session, member_id: int, key: str) -> Message | None:
    return session.scalar(
        select(Message).where(Message.member_id == member_id, Message.idempotency_key == key)
    )


def _channel(member: Member, channel: MessageChannel | str | None) -> MessageChannel:
    try:
        return MessageChannel(channel or member.preferred_channel)
    except ValueError as exc:
        raise InvalidInput("channel must be 'wallet', 'email' or 'sms'") from exc


def _suppression(session: Session, member: Member, channel: MessageChannel) -> str | None:
    """Why the message must not go out (None: it may)."""
    if channel is MessageChannel.WALLET:
        return None  # the coupon shows in the wallet; nothing is pushed to the member
    if not consent_granted(session, member.id, channel.value):
        return f"no consent on {channel.value}"
    address = member.email if channel is MessageChannel.EMAIL else member.phone
    if not address:
        return f"no {channel.value} address"
    return None


@dataclass(frozen=True)
class Claim:
    """What a worker needs to send one claimed message, read inside the claiming transaction."""

    message_id: int
    member_id: int
    channel: MessageChannel
    address: str | None
    language: str
    subject: str
    body: str
    sms: str
    attempt: int


def claim_message(
    session: Session, message_id: int, policy: SendingPolicy, now: dt.datetime | None = None
) -> Claim | None:
    """Take the message for sending, or say there is nothing to send now (None).

    Nothing to send: it is gone already (sent, failed, suppressed, unknown), another worker
    holds it, or it waits (``not_before``).  Consent is checked again (it may have been
    withdrawn since queueing: then ``suppressed``); in the store's quiet hours the message is
    ``deferred`` to their end.  Effects when claimed: status ``sending``, one more attempt,
    ``claimed_at``.  Flushes; the caller commits BEFORE sending.
    """
    now = now or utcnow()
    message = _lock(session, message_id)
    if message is None or message.status not in OPEN:
        return None
    if message.not_before is not None and message.not_before > now:
        return None
    member = get_member(session, message.member_id)
    reason = _suppression(session, member, message.channel)
    if reason:
        message.status, message.last_error = MessageStatus.SUPPRESSED, reason
        session.flush()
        return None
    resume = _quiet_until(session, message, policy, now)
    if resume is not None:
        message.status, message.not_before = MessageStatus.DEFERRED, resume
        session.flush()
        return None
    message.status, message.claimed_at = MessageStatus.SENDING, now
    message.attempts += 1
    session.flush()
    text = render(message.template, message.language, member.name, message.context)
    address = {MessageChannel.EMAIL: member.email, MessageChannel.SMS: member.phone}.get(
        message.channel)
    return Claim(message.id, member.id, message.channel, address, text.language, text.subject,
                 text.body, text.sms, message.attempts)


def _lock(session: Session, message_id: int) -> Message | None:
    stmt = select(Message).where(Message.id == message_id)
    if is_postgres(session):
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


def _quiet_until(
    session: Session, message: Message, policy: SendingPolicy, now: dt.datetime
) -> dt.datetime | None:
    if policy.quiet_hours is None or message.channel is MessageChannel.WALLET:
        return None
    timezone = policy.default_timezone
    if message.store_id is not None:
        timezone = session.scalar(select(Store.timezone).where(Store.id == message.store_id))
    try:
        return policy.quiet_hours.ends_after(now, timezone or policy.default_timezone)
    except ZoneInfoNotFoundError:
        return policy.quiet_hours.ends_after(now, policy.default_timezone)


class Result:
    """What the provider said about one send."""

    SENT, TEMPORARY, PERMANENT, AMBIGUOUS = "sent", "temporary", "permanent", "ambiguous"


def record_outcome(
    session: Session,
    message_id: int,
    result: str,
    policy: SendingPolicy,
    *,
    provider_id: str | None = None,
    error: str | None = None,
    now: dt.datetime | None = None,
) -> Message:
    """Record the answer to a claimed send.

    ``sent``: done.  ``temporary`` (SMTP 4xx, connection refused, HTTP 5xx and 429): deferred by
    the backoff, or ``failed`` once out of attempts.  ``permanent`` (SMTP 5xx, HTTP 4xx):
    ``failed``.  ``ambiguous`` (the connection broke after the message was handed over):
    ``unknown``, never resent.  Only a message still ``sending`` changes.
    """
    now = now or utcnow()
    message = _lock(session, message_id)
    if message is None or message.status is not MessageStatus.SENDING:
        return message  # type: ignore[return-value]
    message.last_error = error[:2000] if error else None
    if result == Result.SENT:
        message.status, message.provider_id, message.sent_at = (
            MessageStatus.SENT, provider_id, now)
    elif result == Result.TEMPORARY and message.attempts < policy.max_attempts:
        message.status = MessageStatus.DEFERRED
        message.not_before = now + policy.backoff(message.attempts)
    elif result == Result.AMBIGUOUS:
        message.status = MessageStatus.UNKNOWN
    else:
        message.status = MessageStatus.FAILED
    session.flush()
    return message


@dataclass(frozen=True)
class Sweep:
    released: list[int]
    unknown: list[int]


def sweep_messages(
    session: Session, policy: SendingPolicy, now: dt.datetime | None = None, limit: int = 1000
) -> Sweep:
    """The periodic pass: deferred messages whose time has come go back to the queue (a new
    outbox row each); claims older than ``stale_after_seconds`` become ``unknown``.

    Effects: flushes; the caller commits.  Safe to run twice: a released message is ``queued``
    and the deliver task claims it once.
    """
    now = now or utcnow()
    due = list(session.scalars(
        select(Message).where(Message.status == MessageStatus.DEFERRED, Message.not_before <= now)
        .order_by(Message.not_before, Message.id).limit(limit)
    ))
    for message in due:  # due now: the deliver task must not wait for the clock again
        message.status, message.not_before = MessageStatus.QUEUED, None
        enqueue(session, DELIVER_TASK, message_id=message.id)
    stale = list(session.scalars(
        select(Message).where(
            Message.status == MessageStatus.SENDING,
            Message.claimed_at < now - dt.timedelta(seconds=policy.stale_after_seconds),
        ).limit(limit)
    ))
    for message in stale:
        message.status = MessageStatus.UNKNOWN
        message.last_error = "worker stopped between claim and record: it may have been sent"
    session.flush()
    return Sweep([m.id for m in due], [m.id for m in stale])


def message_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Message.status, func.count()).group_by(Message.status))
    return {str(status): count for status, count in rows}


def unsubscribe_member(session: Session, member_id: int, channel: Channel | str) -> bool:
    """Withdraw the member's consent on ``channel`` (the one-click unsubscribe link).

    Idempotent: a member who has no consent there already gets no new record (mail clients
    and scanners repeat the POST).  Returns whether a withdrawal was recorded.  Effects: a
    consent record (source ``unsubscribe``, text ``UNSUBSCRIBE_TEXT_VERSION``) and an audit
    event ``consent.withdraw``.
    """
    get_member(session, member_id)
    if not consent_granted(session, member_id, channel):
        return False
    record_consent(session, member_id, channel, False, UNSUBSCRIBE_TEXT_VERSION,
                   source="unsubscribe")
    record_event(session, "member", "consent.withdraw", f"member:{member_id}",
                 channel=str(Channel(channel)), via="unsubscribe link")
    return True
