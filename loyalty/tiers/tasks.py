"""Tier tasks: the monthly review that moves members down (never more than one tier a month)."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from flask import current_app
from sqlalchemy.orm import Session, sessionmaker

from loyalty.db import unit_of_work, utcnow
from loyalty.extensions import database
from loyalty.tiers.services import review_tiers

log = logging.getLogger(__name__)


def review_due_tiers(
    session_factory: sessionmaker[Session], at: dt.datetime | None = None, batch: int = 500
) -> tuple[int, int]:
    """Review every member not yet reviewed this month, ``batch`` per transaction, so a long
    review never holds thousands of member rows locked.  ``(reviewed, changed)``.

    Running it twice, or twice at once, has the effect of running it once (see
    :func:`review_tiers`).  ``at`` is fixed for the whole run so the loop ends.
    """
    at = at or utcnow()
    reviewed = changed = 0
    while True:
        with unit_of_work(session_factory) as session:
            done, moved = review_tiers(session, at, batch)
        if done == 0:
            return reviewed, changed
        reviewed, changed = reviewed + done, changed + moved


@shared_task(name="tiers.review", ignore_result=True)
def review_tiers_task() -> int:
    """Monthly under beat in production; ``loyalty tasks review-tiers`` runs the same by hand."""
    reviewed, changed = review_due_tiers(database(current_app).session_factory)
    log.info("tier review: %d members reviewed, %d changed tier", reviewed, changed)
    return changed
