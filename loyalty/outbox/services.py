"""Writing to the outbox: a side effect is recorded in the same transaction as the change
that causes it, and a relay (:mod:`loyalty.outbox.relay`) hands it to Celery after commit.

A rolled-back transaction therefore never sends anything, and a committed one never loses its
side effect, even when Redis is down: the row waits until the broker is back.

Payloads carry ids and small scalars only, never objects and never card numbers: a message may
sit in Redis, in worker logs and in the outbox table for a long time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.outbox.models import OutboxMessage

# Set on the session by :func:`enqueue`; the composition root listens for commits carrying it
# and, in the embedded default, relays at once (see :mod:`loyalty.worker`).
PENDING_FLAG = "loyalty.outbox.pending"

# Any run of 12-19 digits could be a card number (ours or a payment card's).
_CARD_LIKE = re.compile(r"^\d{12,19}$")
_TASK_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


def enqueue(session: Session, task_name: str, **payload: object) -> OutboxMessage:
    """Record that task ``task_name`` must run with ``payload`` once this transaction commits.

    Invariants: ``task_name`` is a dotted task name (``ledger.expire_points``); every payload
    value is a JSON scalar (an id, a code, a flag) or a list of them; no value looks like a card
    number.  Violations are programming errors and raise ``ValueError``.
    Effects: adds one undelivered row and flushes; marks the session so the commit can trigger
    a relay.  Never commits.
    """
    if not _TASK_NAME.match(task_name) or len(task_name) > 100:
        raise ValueError(f"not a task name: {task_name!r}")
    for key, value in payload.items():
        _check_value(key, value)
    message = OutboxMessage(task_name=task_name, payload=dict(payload), attempts=0)
    session.add(message)
    session.flush()
    session.info[PENDING_FLAG] = True
    return message


def _check_value(key: str, value: object) -> None:
    if isinstance(value, list):
        for item in value:
            _check_value(key, item)
        return
    if value is not None and not isinstance(value, bool | int | str):
        raise ValueError(f"outbox payload {key!r}: ids and scalars only, not {type(value)}")
    if isinstance(value, str) and _CARD_LIKE.match(re.sub(r"[ -]", "", value)):
        raise ValueError(f"outbox payload {key!r}: looks like a card number; send an id")


@dataclass(frozen=True)
class OutboxBacklog:
    """What waits in the outbox: how many rows, since when, and the latest failure."""

    pending: int
    oldest_id: int | None
    last_error: str | None


def outbox_backlog(session: Session) -> OutboxBacklog:
    """Undelivered rows, for operators (``loyalty tasks pending``).  Reads only."""
    waiting = OutboxMessage.dispatched_at.is_(None)
    count, oldest = session.execute(
        select(func.count(), func.min(OutboxMessage.id)).where(waiting)
    ).one()
    last_error = session.scalar(
        select(OutboxMessage.last_error)
        .where(waiting, OutboxMessage.last_error.is_not(None))
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    return OutboxBacklog(count, oldest, last_error)


def reopen_message(session: Session, message_id: int, error: str) -> None:
    """Put a handed-over message back in the queue, with the reason it failed.

    Used when the in-process "broker" of the embedded default ran the task and it failed: the
    row becomes undelivered again and the next relay retries it.  Flushes; never commits.
    """
    message = session.get(OutboxMessage, message_id, with_for_update=True)
    if message is None:
        return
    message.dispatched_at = None
    message.last_error = error[:2000]
    session.flush()
