"""Campaign tasks: ``campaigns.issue_chunk`` issues one chunk of a run (queued through the
outbox by :func:`loyalty.campaigns.issuing.start_run`); ``campaigns.resume_runs`` (under beat)
queues again the chunks of runs that stopped moving, e.g. because a worker was killed while
its message was unacknowledged (Redis hands it out again only after its visibility timeout,
an hour).  Both are safe to run twice: docs/CAMPAIGNS.md, "Issuing at scale"."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import shared_task
from flask import current_app

from loyalty.campaigns.issuing import (
    ISSUE_CHUNK_TASK,
    finish_run,
    issue_chunk,
    resume_run,
    stalled_runs,
)
from loyalty.db import unit_of_work, utcnow
from loyalty.extensions import database

log = logging.getLogger(__name__)

RESUME_RUNS = "campaigns.resume_runs"
# A run with no new coupon for this long has lost its chunks' tasks (a chunk takes seconds).
STALLED_AFTER = dt.timedelta(minutes=5)

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "campaigns-resume-runs": {
        "task": RESUME_RUNS,
        "schedule": 300.0,
        "options": {"expires": 240},
    },
}


@shared_task(name=ISSUE_CHUNK_TASK, ignore_result=True)
def issue_chunk_task(run_id: int, chunk: int) -> dict[str, Any]:
    factory = database(current_app).session_factory
    with unit_of_work(factory) as session:
        counts = issue_chunk(session, run_id, chunk)
    if not counts.run_done:
        # The last two chunks, committed at once, each saw the other's targets pending; the
        # one that gets here last sees both committed.
        with unit_of_work(factory) as session:
            finish_run(session, run_id)
    return counts.as_dict()


@shared_task(name=RESUME_RUNS, ignore_result=True)
def resume_runs_task() -> int:
    factory = database(current_app).session_factory
    with unit_of_work(factory) as session:
        runs = stalled_runs(session, utcnow(), STALLED_AFTER)
        for run_id in runs:
            chunks = resume_run(session, run_id)
            log.warning("campaign run %s had stalled: chunks %s queued again", run_id, chunks)
    return len(runs)
