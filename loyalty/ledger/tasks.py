"""Ledger tasks: ids in (none here), one service call per unit of work, explicit names."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from flask import current_app
from sqlalchemy.orm import Session, sessionmaker

from loyalty.db import unit_of_work, utcnow
from loyalty.extensions import database
from loyalty.ledger.services import expire_points

log = logging.getLogger(__name__)


def expire_due_points(
    session_factory: sessionmaker[Session], now: dt.datetime | None = None, batch: int = 500
) -> int:
    """Expire every lot past its date as of ``now``, ``batch`` members per transaction.

    Returns the points this run expired.  Running it twice, or twice at once, has the effect of
    running it once: :func:`expire_points` locks each member's account and skips lots already at
    zero, so a second run finds nothing left to do.  ``now`` is fixed for the whole run so the
    loop ends even while lots keep falling due.
    """
    now = now or utcnow()
    total = 0
    while True:
        with unit_of_work(session_factory) as session:
            expired = expire_points(session, now=now, batch=batch)
        if expired == 0:
            return total
        total += expired


@shared_task(name="ledger.expire_points", ignore_result=True)
def expire_points_task() -> int:
    """Hourly under beat in production; ``loyalty tasks expire`` runs the same by hand or cron."""
    expired = expire_due_points(database(current_app).session_factory)
    log.info("expired %d points", expired)
    return expired
