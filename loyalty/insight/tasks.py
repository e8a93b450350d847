"""Insight tasks: one member's rows after each checkout (through the outbox), and the nightly
rebuilds under beat, members' rows first, then the affinities (their schedule is declared here
and merged into the beat's in :mod:`loyalty.worker`)."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.schedules import crontab
from flask import current_app
from sqlalchemy.exc import IntegrityError

from loyalty.db import unit_of_work, utcnow
from loyalty.extensions import database
from loyalty.insight import REFRESH_MEMBER_TASK
from loyalty.insight.affinity import rebuild_affinities
from loyalty.insight.services import rebuild_members, refresh_member_insight

log = logging.getLogger(__name__)

REBUILD = "insight.rebuild"
REBUILD_AFFINITIES = "insight.rebuild_affinities"

# Runs after every checkout: Celery's INFO lines about it would be one per sale.
ROUTINE = frozenset({REFRESH_MEMBER_TASK})

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "insight-rebuild": {
        "task": REBUILD,
        # nightly, after the day's last sales: recency moves for every member each day
        "schedule": crontab(minute=15, hour=3),
        "options": {"expires": 6 * 3600},
    },
    # Its own task: pairs over every basket take minutes on 10M lines (docs/INSIGHT.md) and
    # change slowly; the members' rows, which campaigns read in the morning, do not wait for it.
    "insight-rebuild-affinities": {
        "task": REBUILD_AFFINITIES,
        "schedule": crontab(minute=45, hour=3),
        "options": {"expires": 6 * 3600},
    },
}


# A rebuild committing the member's row between the refresh's read and its insert makes the
# insert collide; the refresh is idempotent, so it simply runs again.
@shared_task(name=REFRESH_MEMBER_TASK, ignore_result=True, autoretry_for=(IntegrityError,),
             retry_backoff=True, max_retries=5)
def refresh_member_task(member_id: int) -> bool:
    """After a checkout: that member's aggregates as of today (idempotent)."""
    with unit_of_work(database(current_app).session_factory) as session:
        return refresh_member_insight(session, member_id, utcnow().date())


@shared_task(name=REBUILD, ignore_result=True)
def rebuild_task() -> int:
    """Nightly under beat: every member's insight (``loyalty insight rebuild`` runs this and
    the affinities by hand)."""
    with unit_of_work(database(current_app).session_factory) as session:
        members = rebuild_members(session, utcnow().date())
    log.info("insight rebuilt for %d members", members)
    return members


@shared_task(name=REBUILD_AFFINITIES, ignore_result=True)
def rebuild_affinities_task() -> dict[str, int]:
    """Nightly under beat, after the members' rebuild: the cross-sell affinities."""
    with unit_of_work(database(current_app).session_factory) as session:
        return rebuild_affinities(session, utcnow().date())
