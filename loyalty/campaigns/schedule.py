"""The campaigns' clock: ``campaigns.tick`` under beat moves campaigns along their life cycle and
starts their due runs (docs/CAMPAIGNS.md, "Life cycle").  Its schedule is declared here and
merged into the beat's in :mod:`loyalty.worker`.

Each campaign advances in its own transaction, so one that cannot run (its cross-sell lost its
affinities, say) is logged and retried next tick without holding up the others.  Two ticks at
once are harmless: the campaign's row is locked while it advances, and a run is planned once per
(campaign, occasion).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import shared_task
from flask import Flask, current_app
from sqlalchemy.orm import sessionmaker

from loyalty.campaigns import services
from loyalty.campaigns.models import Campaign
from loyalty.db import unit_of_work, utcnow
from loyalty.errors import DomainError
from loyalty.extensions import database

log = logging.getLogger(__name__)

TICK = "campaigns.tick"
# Automations run once a day and one-offs start within a minute of their start.
TICK_EVERY_SECONDS = 60.0

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "campaigns-tick": {
        "task": TICK,
        "schedule": TICK_EVERY_SECONDS,
        "options": {"expires": 2 * TICK_EVERY_SECONDS},
    },
}
ROUTINE = frozenset({TICK})


def tick(factory: sessionmaker[Any], now: dt.datetime) -> int:
    """Advance every scheduled or running campaign at ``now``; returns the runs started."""
    with unit_of_work(factory) as session:
        ids = services.active_campaign_ids(session)
    started = 0
    for campaign_id in ids:
        try:
            with unit_of_work(factory) as session:
                campaign = session.get(Campaign, campaign_id, with_for_update=True)
                if campaign is not None and services.advance_campaign(
                        session, campaign, now) is not None:
                    started += 1
        except DomainError as exc:
            log.warning("campaign %d did not advance: %s", campaign_id, exc.code)
    return started


def tick_app(app: Flask, now: dt.datetime | None = None) -> int:
    return tick(database(app).session_factory, now or utcnow())


@shared_task(name=TICK, ignore_result=True)
def tick_task() -> int:
    """Every minute under beat; ``loyalty campaign tick`` runs the same by hand."""
    return tick_app(current_app)
