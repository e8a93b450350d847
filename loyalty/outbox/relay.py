"""The outbox relay: hands committed side effects to the task queue, oldest first.

Delivery is at least once.  A message is handed over while its row is held (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so relays running side by side share the work without waiting; SQLite
has one writer at a time anyway) and marked delivered in the same transaction.  If the process
dies between the hand-over and the commit, the message goes out again, so every task must be
idempotent.  If the broker refuses a message, the row keeps ``attempts`` and ``last_error``, stays
undelivered, and is retried by the next relay, ahead of younger messages: losing Redis loses
nothing.

This module knows nothing of Celery: the caller passes ``send``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from loyalty.db import is_postgres, unit_of_work, utcnow
from loyalty.outbox.models import OutboxMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Envelope:
    """One message as handed to ``send``: its outbox id, task name and keyword arguments."""

    id: int
    task_name: str
    payload: dict[str, Any]


@dataclass
class RelayReport:
    delivered: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    last_error: str | None = None


def relay_outbox(
    session_factory: sessionmaker[Session],
    send: Callable[[Envelope], object],
    *,
    batch: int = 100,
) -> RelayReport:
    """Hand every undelivered message to ``send``, oldest first, one transaction per batch.

    Stops at the first failure: a broker that refuses one message will refuse the next, and
    trying each of thousands of rows against a dead broker only delays the caller.
    """
    report = RelayReport()
    while True:
        with unit_of_work(session_factory) as session:
            claimed = _claim(session, batch)
            stopped = _hand_over(claimed, send, report)
        if stopped or len(claimed) < batch:
            return report


def _claim(session: Session, batch: int) -> list[OutboxMessage]:
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.dispatched_at.is_(None))
        .order_by(OutboxMessage.id)
        .limit(batch)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.scalars(stmt))


def _hand_over(
    claimed: list[OutboxMessage], send: Callable[[Envelope], object], report: RelayReport
) -> bool:
    """Send each claimed row and mark it; returns True if a failure stopped the batch."""
    for message in claimed:
        message.attempts += 1
        try:
            send(Envelope(message.id, message.task_name, dict(message.payload)))
        except Exception as exc:  # noqa: BLE001 - whatever the broker raised, the row waits
            message.last_error = describe(exc)
            report.failed.append(message.id)
            report.last_error = message.last_error
            log.warning("outbox message %s (%s) not delivered: %s",
                        message.id, message.task_name, message.last_error)
            return True
        message.dispatched_at = utcnow()
        report.delivered.append(message.id)
    return False


def describe(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}"[:2000]
