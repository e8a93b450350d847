"""The Celery app, bound to Flask so every task runs inside an app context.

Embedded default (no ``LOYALTY_REDIS_URL``): tasks run eagerly, in the caller's process, and the
outbox is relayed right after each commit that wrote to it (after the request, or at once
outside a request), so the demo needs no worker and no beat.

Production: Redis is the broker; workers run the tasks and exactly ONE ``celery beat`` schedules
the periodic ones (two beats would relay and expire twice as often; harmless, since both tasks
are idempotent, but wasteful).  The entry point for ``celery -A`` is
``loyalty.celery_app:celery`` (``loyalty.worker:celery`` also works: built on first access).
Importing this module builds nothing and connects nowhere.
"""

from __future__ import annotations

import logging
import pkgutil
from pathlib import Path
from typing import Any

from celery import Celery, Task
from celery.schedules import crontab
from flask import Flask, g, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session

import loyalty
from loyalty.campaigns.schedule import BEAT_SCHEDULE as CAMPAIGNS_TICK_SCHEDULE
from loyalty.campaigns.schedule import ROUTINE as CAMPAIGNS_ROUTINE
from loyalty.campaigns.tasks import BEAT_SCHEDULE as CAMPAIGNS_SCHEDULE
from loyalty.config import Settings
from loyalty.extensions import database
from loyalty.insight.tasks import BEAT_SCHEDULE as INSIGHT_SCHEDULE
from loyalty.insight.tasks import ROUTINE as INSIGHT_ROUTINE
from loyalty.logging_setup import quiet_routine_tasks
from loyalty.outbox.services import PENDING_FLAG
from loyalty.outbox.tasks import deliver_outbox, relaying_in_process

log = logging.getLogger(__name__)

# The outbox is relayed this often in production; the latency of every side effect.
RELAY_EVERY_SECONDS = 2.0

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "outbox-relay": {
        "task": "outbox.relay",
        "schedule": RELAY_EVERY_SECONDS,
        # A relay queued while the workers were down is pointless once a newer one exists.
        "options": {"expires": 10 * RELAY_EVERY_SECONDS},
    },
    "tiers-review": {
        "task": "tiers.review",
        # monthly, early on the 1st: a member moves down at most one tier a month
        "schedule": crontab(minute=30, hour=2, day_of_month=1),
        "options": {"expires": 6 * 3600},
    },
    "messaging-sweep": {
        "task": "messaging.sweep",  # deferred messages whose time has come; dead claims
        "schedule": 60.0,
        "options": {"expires": 120},
    },
    "ledger-expire-points": {
        "task": "ledger.expire_points",
        "schedule": crontab(minute=5),  # hourly, at five past
        "options": {"expires": 3000},
    },
    **INSIGHT_SCHEDULE,
    **CAMPAIGNS_SCHEDULE,
    **CAMPAIGNS_TICK_SCHEDULE,
}

# Periodic tasks whose every run Celery would log at INFO (beat sends, worker receives and
# succeeds): left out of the log, or an idle stack prints three lines every two seconds.
ROUTINE_TASKS = frozenset({"outbox.relay", *INSIGHT_ROUTINE, *CAMPAIGNS_ROUTINE})

# Publishing to a broker that is down must fail fast: the outbox row waits and is retried.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.25,
                        "interval_max": 0.5}
REDIS_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 10}

_RELAY_DUE = "loyalty_outbox_relay_due"


def init_celery(app: Flask, settings: Settings) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.conf.update(
        task_ignore_result=True,
        result_backend=None,
        beat_schedule=BEAT_SCHEDULE,
        # Acknowledge after the run: a worker dying mid-task leaves the message to be delivered
        # again, and tasks are idempotent, so the rerun is harmless.
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        # Keep the JSON log format configured by create_app (it scrubs card numbers).
        worker_hijack_root_logger=False,
        timezone="UTC",
    )
    quiet_routine_tasks(ROUTINE_TASKS)
    if settings.tasks_in_process:
        celery_app.conf.update(task_always_eager=True, task_eager_propagates=True,
                               broker_url="memory://")
        _relay_after_commit(app)
    else:
        celery_app.conf.update(
            broker_url=settings.redis_url,
            broker_connection_retry_on_startup=True,
            broker_transport_options=REDIS_TRANSPORT_OPTIONS,
            task_publish_retry_policy=PUBLISH_RETRY_POLICY,
        )
    celery_app.autodiscover_tasks(_slices, related_name="tasks", force=True)
    # The campaigns' clock lives apart from their issuing tasks (loyalty/campaigns/schedule.py).
    celery_app.autodiscover_tasks(["loyalty.campaigns"], related_name="schedule", force=True)
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def _slices() -> list[str]:
    """Every ``loyalty.<slice>`` with a ``tasks`` module (its ``shared_task``s register)."""
    root = Path(loyalty.__file__).parent
    return [f"loyalty.{m.name}" for m in pkgutil.iter_modules([str(root)])
            if m.ispkg and (root / m.name / "tasks.py").is_file()]


def _relay_after_commit(app: Flask) -> None:
    """Embedded default: relay the outbox once a transaction that wrote to it has committed.

    In a request, the relay runs when the request ends (after the commit in
    :func:`loyalty.http.commit_or_rollback`); elsewhere (CLI, tests, tasks) right after the
    commit.  Commits made by tasks the relay itself is running are picked up by that relay.
    """
    factory = database(app).session_factory

    @event.listens_for(factory, "after_commit")
    def _committed(session: Session) -> None:
        if session.in_nested_transaction():
            # A savepoint was released (SQLAlchemy 2.1 calls after_commit for it too): the
            # outer transaction, which holds the outbox rows, has yet to commit.
            return
        if not session.info.pop(PENDING_FLAG, False) or relaying_in_process():
            return
        if has_request_context():
            setattr(g, _RELAY_DUE, True)
        else:
            _relay_now(app)

    @event.listens_for(factory, "after_rollback")
    def _rolled_back(session: Session) -> None:
        session.info.pop(PENDING_FLAG, None)

    @app.teardown_request
    def _relay_after_request(_exc: BaseException | None) -> None:
        if g.pop(_RELAY_DUE, False):
            _relay_now(app)


def _relay_now(app: Flask) -> None:
    try:
        with app.app_context():
            deliver_outbox(app)
    except Exception:
        # The commit already happened; the rows wait for the next relay.
        log.exception("in-process outbox relay failed")


def __getattr__(name: str) -> Any:
    """``celery -A loyalty.worker:celery`` works too: the app is built only when asked for."""
    if name == "celery":
        from loyalty.celery_app import celery

        return celery
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
