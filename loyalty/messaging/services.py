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
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    Select,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    null,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from loyalty.audit.services import record_event
from loyalty.baskets.queries import home_store
from loyalty.db import is_postgres, utcnow
from loyalty.errors import InvalidInput
from loyalty.members.models import Channel, ConsentRecord, Member
from loyalty.members.services import get_member, record_consent
from loyalty.messaging.models import Message, MessageChannel, MessageStatus
from loyalty.messaging.templates import (
    check_context,
    message_language,
    message_language_sql,
    render,
)
from loyalty.outbox.services import enqueue
from loyalty.stores.models import Store

DELIVER_TASK = "messaging.deliver"
DELIVER_BATCH_TASK = "messaging.deliver_batch"  # the messages of one bulk queueing
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
    key = _idempotency_key(template, occasion_key)
    member = get_member(session, member_id)
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


def _idempotency_key(template: str, occasion_key: str) -> str:
    """A message's key: one per member, template and occasion (``campaign:12``)."""
    occasion_key = occasion_key.strip()
    if not occasion_key or len(occasion_key) > 120:
        raise InvalidInput("occasion_key names the occasion (1-120 characters)")
    return f"{template}:{occasion_key}"


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


def queue_messages(
    session: Session,
    template: str,
    recipients: Select[Any],
    occasion_key: str,
    *,
    channel: MessageChannel | str | None = None,
    now: dt.datetime | None = None,
) -> list[int]:
    """:func:`send_message` for many members at once, set-based (a campaign's coupons).

    ``recipients`` selects ``member_id`` and, labelled, the template's values (each column
    but ``member_id`` goes into the context).  The same rules as :func:`send_message`, in SQL:
    the member's channel unless ``channel`` is given, their language, the store they last
    shopped at, suppression without consent or address (:func:`_suppression_sql`, the twin of
    :func:`_suppression`), and once per member, template and occasion (members who already
    have it are skipped).  Effects: one INSERT ... SELECT of messages and, for those queued,
    one outbox row ``messaging.deliver_batch`` carrying their ids.  Returns the ids queued.
    Flushes, never commits.
    """
    source = recipients.subquery("recipients")
    names = [c.name for c in source.c if c.name != "member_id"]
    check_context(template, dict.fromkeys(names, ""))
    key = _idempotency_key(template, occasion_key)
    if channel is not None:
        try:
            channel = MessageChannel(channel)
        except ValueError as exc:
            raise InvalidInput("channel must be 'wallet', 'email' or 'sms'") from exc
    now = now or utcnow()
    postgres = is_postgres(session)
    member = Member.__table__.c
    # As text: the members' column is an enum of email and sms, which cannot hold "wallet".
    chosen: Any = cast(member.preferred_channel, String) if channel is None else _typed(
        channel.value)
    context = (func.json_build_object if postgres else func.json_object)(
        *[part for name in names for part in (_typed(name), source.c[name])])
    rows = select(
        source.c.member_id.label("member_id"),
        chosen.label("channel"),
        message_language_sql(member.language).label("language"),
        context.label("context"),
        home_store_sql(source.c.member_id).label("store_id"),
        _suppression_sql(member, chosen).label("reason"),
    ).select_from(source.join(Member.__table__, member.id == source.c.member_id)).subquery()
    table = Message.__table__
    values = {
        "member_id": rows.c.member_id, "channel": rows.c.channel,
        "template": _typed(template), "language": rows.c.language, "context": rows.c.context,
        "idempotency_key": _typed(key), "store_id": rows.c.store_id,
        "status": case((rows.c.reason.is_(None), MessageStatus.QUEUED.value),
                       else_=MessageStatus.SUPPRESSED.value),
        "attempts": literal_column("0"), "last_error": rows.c.reason,
        "created_at": cast(literal(now, table.c.created_at.type), table.c.created_at.type)
        if postgres else literal(now, table.c.created_at.type),
    }
    insert = (pg_insert if postgres else sqlite_insert)(table).from_select(
        [table.c[name] for name in values],
        # WHERE true: SQLite reads an ON after a bare FROM ... JOIN as the join's (upsert docs).
        select(*values.values()).where(true()))
    written = session.execute(
        insert.on_conflict_do_nothing().returning(table.c.id, table.c.status))
    queued = sorted(i for i, status in written if status == MessageStatus.QUEUED.value)
    if queued:
        enqueue(session, DELIVER_BATCH_TASK, message_ids=queued)
    return queued


def _typed(value: str) -> Any:
    # A typed parameter: PostgreSQL cannot guess the type of an untyped one in a select list
    # or in json_build_object.
    return cast(literal(value, String), String)


def home_store_sql(member_id: Any) -> Any:
    """:func:`home_store_id` as a correlated subquery, for messages queued in bulk."""
    return home_store(member_id).scalar_subquery()


def _suppression_sql(member: Any, channel: Any) -> Any:
    """:func:`_suppression` as SQL over the member table's columns and a channel expression:
    NULL when the message may go out, else the reason.  Keep the two in step (a test compares
    them member by member)."""
    newest_decision = (
        select(ConsentRecord.granted)
        .where(ConsentRecord.member_id == member.id, ConsentRecord.channel == channel)
        .order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc())
        .limit(1).scalar_subquery()
    )
    address = case((channel == MessageChannel.EMAIL.value, member.email), else_=member.phone)
    return case(
        (channel == MessageChannel.WALLET.value, null()),
        (func.coalesce(newest_decision, false()) == false(),
         _typed("no consent on ").concat(channel)),
        (func.coalesce(address, "") == "",
         _typed("no ").concat(channel).concat(_typed(" address"))),
        else_=null(),
    )


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
