"""The outbox: written with the change, relayed after commit, nothing lost when sending fails."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from loyalty.cli import main
from loyalty.db import unit_of_work
from loyalty.http import db_session
from loyalty.ledger.services import member_balance
from loyalty.outbox.models import OutboxMessage
from loyalty.outbox.relay import Envelope, relay_outbox
from loyalty.outbox.services import enqueue, outbox_backlog
from tests.factories import side_by_side
from tests.tasks.helpers import member_with_points


def _rows(factory) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with factory() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_enqueue_is_part_of_the_callers_transaction(sessions):
    with sessions() as s:
        enqueue(s, "notify.send_welcome", member_id=7)
        s.rollback()
    assert _rows(sessions) == []

    with unit_of_work(sessions) as s:
        enqueue(s, "notify.send_welcome", member_id=7, channel="sms")
    [row] = _rows(sessions)
    assert (row.task_name, row.payload) == ("notify.send_welcome", {"member_id": 7,
                                                                     "channel": "sms"})
    assert row.dispatched_at is None and row.attempts == 0 and row.last_error is None


@pytest.mark.parametrize("payload", [
    {"card_number": "9871000000000018"},
    {"card": "4111 1111 1111 1111"},
    {"member": object()},
    {"ids": [1, {"nested": 2}]},
])
def test_payloads_carry_ids_never_cards_or_objects(sessions, payload):
    with sessions() as s, pytest.raises(ValueError):
        enqueue(s, "notify.send_welcome", **payload)


def test_task_names_are_dotted(sessions):
    with sessions() as s, pytest.raises(ValueError):
        enqueue(s, "send welcome")


def test_relay_hands_over_oldest_first_once(sessions):
    with unit_of_work(sessions) as s:
        for n in range(5):
            enqueue(s, "coupons.issue", member_id=n)
    sent: list[Envelope] = []
    report = relay_outbox(sessions, sent.append, batch=2)
    assert [e.payload["member_id"] for e in sent] == [0, 1, 2, 3, 4]
    assert report.delivered == [e.id for e in sent] and report.failed == []
    assert all(r.dispatched_at is not None and r.attempts == 1 for r in _rows(sessions))
    assert relay_outbox(sessions, sent.append).delivered == []
    assert len(sent) == 5


def test_a_refused_message_waits_and_goes_first_next_time(sessions):
    with unit_of_work(sessions) as s:
        for n in range(3):
            enqueue(s, "coupons.issue", member_id=n)

    def broker_down(_envelope: Envelope) -> None:
        raise ConnectionRefusedError("Error 111 connecting to 127.0.0.1:1")

    report = relay_outbox(sessions, broker_down)
    assert report.delivered == [] and len(report.failed) == 1
    first, second, third = _rows(sessions)
    assert all(r.dispatched_at is None for r in (first, second, third))
    assert (first.attempts, second.attempts, third.attempts) == (1, 0, 0)  # stopped at once
    assert "ConnectionRefusedError" in first.last_error
    with sessions() as s:
        backlog = outbox_backlog(s)
    assert (backlog.pending, backlog.oldest_id) == (3, first.id)
    assert "ConnectionRefusedError" in backlog.last_error

    sent: list[Envelope] = []
    relay_outbox(sessions, sent.append)
    assert [e.id for e in sent] == [first.id, second.id, third.id]
    assert [r.attempts for r in _rows(sessions)] == [2, 1, 1]
    with sessions() as s:
        assert outbox_backlog(s).pending == 0


def test_two_relays_at_once_deliver_each_message_exactly_once(sessions):
    with unit_of_work(sessions) as s:
        for n in range(60):
            enqueue(s, "coupons.issue", member_id=n)
    sent: list[int] = []
    lock = threading.Lock()

    def slow_send(envelope: Envelope) -> None:
        time.sleep(0.002)  # a broker round trip, so the two relays overlap
        with lock:
            sent.append(envelope.id)

    # side_by_side raises whatever either relay raised, so neither may fail
    side_by_side(lambda: relay_outbox(sessions, slow_send, batch=7))
    assert Counter(sent) == Counter({r.id: 1 for r in _rows(sessions)})
    assert len(sent) == 60
    assert all(r.dispatched_at is not None and r.attempts == 1 for r in _rows(sessions))


# --- the embedded default: tasks in-process, relayed right after the commit -------------------


def test_a_request_that_enqueues_runs_the_task_after_its_commit(app, db, settings, sessions):
    @app.post("/_probe/expire")
    def probe():  # type: ignore[no-untyped-def]
        enqueue(db_session(), "ledger.expire_points")
        return {"queued": True}, 201

    @app.post("/_probe/refused")
    def refused():  # type: ignore[no-untyped-def]
        enqueue(db_session(), "ledger.expire_points")
        return {"code": "nope"}, 409

    member_id = member_with_points(db, settings, 120, days_ago=400)
    db.commit()

    assert app.test_client().post("/_probe/refused").status_code == 409
    assert _rows(sessions) == []  # rolled back with the request: nothing queued, nothing ran
    assert member_balance(db, member_id) == 120
    db.rollback()  # SQLite: even a read holds the write lock (BEGIN IMMEDIATE) until it ends

    assert app.test_client().post("/_probe/expire").status_code == 201
    [row] = _rows(sessions)
    assert row.dispatched_at is not None and row.last_error is None
    db.expire_all()
    assert member_balance(db, member_id) == 0


def test_a_commit_outside_a_request_relays_at_once(app, db, settings):
    member_id = member_with_points(db, settings, 50, days_ago=500)
    enqueue(db, "ledger.expire_points")
    db.commit()
    db.expire_all()
    assert member_balance(db, member_id) == 0
    assert db.scalar(select(func.count()).select_from(OutboxMessage)
                     .where(OutboxMessage.dispatched_at.is_(None))) == 0


def test_a_released_savepoint_does_not_relay_before_the_real_commit(app, db, settings):
    # SQLAlchemy 2.1 calls after_commit for a savepoint too; relaying then would run the task
    # inside the caller's open transaction (on SQLite: wait on its own write lock).
    member_id = member_with_points(db, settings, 50, days_ago=500)
    enqueue(db, "ledger.expire_points")
    with db.begin_nested():
        pass
    assert db.scalar(select(func.count()).select_from(OutboxMessage)
                     .where(OutboxMessage.dispatched_at.is_(None))) == 1
    db.commit()
    db.expire_all()
    assert member_balance(db, member_id) == 0


def test_a_failing_in_process_task_goes_back_to_the_outbox(app, db, sessions):
    enqueue(db, "nosuch.task", member_id=1)
    db.commit()  # the relay runs, the task is unknown: the row is reopened with the error
    [row] = _rows(sessions)
    assert row.dispatched_at is None and row.attempts == 1
    assert "NotRegistered" in row.last_error

    enqueue(db, "nosuch.task", member_id=2)
    db.commit()  # the next relay retries the waiting one first
    first, second = _rows(sessions)
    assert (first.attempts, second.attempts) == (2, 1)


def test_cli_relay_and_pending(settings, sessions):
    with unit_of_work(sessions) as s:
        enqueue(s, "ledger.expire_points")
        enqueue(s, "nosuch.task")
    env = {
        "LOYALTY_DATABASE_URL": settings.resolved_database_url,
        "LOYALTY_INSTANCE_PATH": str(settings.instance_path),
        "LOYALTY_SECRET_KEY": "test-secret",
        "LOYALTY_TESTING": "true",
        "LOYALTY_REDIS_URL": "",
    }
    runner = CliRunner()
    result = runner.invoke(main, ["tasks", "pending"], env=env)
    assert result.exit_code == 0, result.output
    assert "2 waiting" in result.output

    result = runner.invoke(main, ["tasks", "relay"], env=env)
    assert "delivered 1, failed 1" in result.output
    assert result.exit_code == 1  # the unknown task is reported, and waits

    result = runner.invoke(main, ["tasks", "pending"], env=env)
    assert "1 waiting" in result.output and "NotRegistered" in result.output
