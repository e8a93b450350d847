"""Delivering the outbox to Celery, and the periodic ``outbox.relay`` task.

Production: the relay publishes each message to Redis (``send_task``), every few seconds under
the one beat.  Embedded default (``task_always_eager``, no broker): ``send_task`` would ignore
eagerness, so the relay hands messages to an in-process list instead and, once its transaction
has committed (SQLite has a single writer, and the task needs it), runs each task here.  A task
that fails puts its row back in the queue with the error, to be retried by the next relay.
"""

from __future__ import annotations

import logging
import threading

from celery import Celery, shared_task
from flask import Flask, current_app

from loyalty.db import unit_of_work
from loyalty.extensions import database
from loyalty.outbox.relay import Envelope, RelayReport, describe, relay_outbox
from loyalty.outbox.services import reopen_message

log = logging.getLogger(__name__)

# In-process delivery repeats while tasks enqueue follow-ups, but never forever.
MAX_IN_PROCESS_PASSES = 10

_local = threading.local()


def relaying_in_process() -> bool:
    """True while this thread runs tasks for the in-process relay (their commits must not
    start a relay of their own: the running one picks up what they enqueue)."""
    return getattr(_local, "relaying", False)


def deliver_outbox(app: Flask) -> RelayReport:
    """Hand every undelivered outbox message to Celery (or run it here, in the embedded default)."""
    celery_app: Celery = app.extensions["celery"]
    factory = database(app).session_factory
    if not celery_app.conf.task_always_eager:
        return relay_outbox(factory, lambda env: _publish(celery_app, env))
    outer, _local.relaying = relaying_in_process(), True
    try:
        return _run_in_process(celery_app, app)
    finally:
        _local.relaying = outer


def _publish(celery_app: Celery, envelope: Envelope) -> None:
    celery_app.send_task(envelope.task_name, kwargs=envelope.payload)


def _run_in_process(celery_app: Celery, app: Flask) -> RelayReport:
    factory = database(app).session_factory
    total = RelayReport()
    failures: dict[int, str] = {}
    for _ in range(MAX_IN_PROCESS_PASSES):
        handed: list[Envelope] = []
        relay_outbox(factory, handed.append)
        for envelope in handed:
            error = _run(celery_app, envelope)
            if error is None:
                total.delivered.append(envelope.id)
            else:
                failures[envelope.id] = total.last_error = error
        if not handed:
            break
    # Failed rows go back only now, so this relay does not retry them in a loop.
    if failures:
        with unit_of_work(factory) as session:
            for message_id, error in failures.items():
                reopen_message(session, message_id, error)
    total.failed = list(failures)
    return total


def _run(celery_app: Celery, envelope: Envelope) -> str | None:
    """Run one task here and now; returns the error, if it failed."""
    try:
        celery_app.tasks[envelope.task_name].apply(kwargs=envelope.payload, throw=True)
    except Exception as exc:  # noqa: BLE001 - a failed task waits in the outbox
        log.exception("task %s (outbox %s) failed", envelope.task_name, envelope.id)
        return describe(exc)
    return None


@shared_task(name="outbox.relay", ignore_result=True)
def relay() -> int:
    """Periodic (beat, every few seconds): hand the waiting outbox messages to the broker."""
    report = deliver_outbox(current_app._get_current_object())  # type: ignore[attr-defined]
    if report.failed:
        log.warning("outbox relay: %d delivered, stopped at a failure: %s",
                    len(report.delivered), report.last_error)
    elif report.delivered:  # Celery's own lines about this task are filtered (ROUTINE_TASKS)
        log.info("outbox relay: %d delivered", len(report.delivered))
    return len(report.delivered)
