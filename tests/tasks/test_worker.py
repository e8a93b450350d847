"""The production task path: outbox -> relay -> Redis -> a real Celery worker, and Redis outages.

Each test's worker listens on a queue of its own, so parallel test runs sharing the machine's
Redis never take each other's messages.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
import redis
from sqlalchemy import select

from loyalty.app import create_app
from loyalty.db import unit_of_work
from loyalty.ledger.services import member_balance
from loyalty.outbox.models import OutboxMessage
from loyalty.outbox.services import enqueue
from loyalty.outbox.tasks import deliver_outbox
from tests.services import require_redis
from tests.tasks.helpers import (
    ROOT,
    PrivateRedis,
    app_env,
    member_with_points,
    stop,
    wait_for,
)

pytestmark = pytest.mark.redis


@pytest.fixture
def queue() -> str:
    return f"loyalty-test-{uuid.uuid4().hex[:12]}"


def producer_app(settings, redis_url: str, queue: str):  # type: ignore[no-untyped-def]
    """The web side in production mode: publishes to ``queue`` on ``redis_url``."""
    app = create_app(replace(settings, redis_url=redis_url))
    app.extensions["celery"].conf.task_default_queue = queue
    return app


def start_worker(settings, redis_url: str, queue: str, log: Path) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    cmd = [sys.executable, "-m", "celery", "-A", "loyalty.celery_app:celery", "worker",
           "--pool", "solo", "-Q", queue, "-n", f"{queue}@%h", "--loglevel", "INFO",
           "--without-mingle", "--without-gossip", "--without-heartbeat"]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, env=app_env(settings, redis_url), cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def balance(factory, member_id: int) -> int:  # type: ignore[no-untyped-def]
    with factory() as s:
        return member_balance(s, member_id)


def test_a_real_worker_runs_what_the_outbox_relays(db, settings, queue, tmp_path, sessions):
    redis_url = require_redis()
    member_id = member_with_points(db, settings, 90, days_ago=400)
    db.commit()
    with unit_of_work(sessions) as s:
        enqueue(s, "ledger.expire_points")

    app = producer_app(settings, redis_url, queue)
    worker = start_worker(settings, redis_url, queue, tmp_path / "worker.log")
    try:
        report = deliver_outbox(app)
        assert len(report.delivered) == 1 and report.failed == []
        wait_for(lambda: balance(sessions, member_id) == 0, 30,
                 "the worker to expire the points")
        assert worker.poll() is None, "the worker died"
    except AssertionError:
        print((tmp_path / "worker.log").read_text()[-4000:])
        raise
    finally:
        stop(worker)
        redis.Redis.from_url(redis_url).delete(queue)
        app.extensions["loyalty.db"].engine.dispose()
    assert worker.returncode is not None


def test_with_redis_down_commits_succeed_and_messages_wait_until_it_is_back(
    settings, tmp_path, queue, sessions
):
    broker = PrivateRedis(tmp_path)
    app = producer_app(settings, broker.url, queue)

    @app.post("/_probe/enqueue/<int:member_id>")
    def probe(member_id: int):  # type: ignore[no-untyped-def]
        from loyalty.http import db_session

        enqueue(db_session(), "notify.send_welcome", member_id=member_id)
        return {"queued": member_id}, 201

    try:
        # The broker has never been up: requests commit anyway, the rows wait.
        client = app.test_client()
        assert [client.post(f"/_probe/enqueue/{n}").status_code for n in (1, 2, 3)] == [201] * 3
        report = deliver_outbox(app)
        assert report.delivered == [] and len(report.failed) == 1
        with sessions() as s:
            rows = list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        assert [r.dispatched_at for r in rows] == [None, None, None]
        assert rows[0].attempts == 1 and "Error" in rows[0].last_error

        broker.start()
        report = deliver_outbox(app)
        assert report.delivered == [r.id for r in rows] and report.failed == []
        with sessions() as s:
            assert all(r.dispatched_at is not None
                       for r in s.scalars(select(OutboxMessage)))
        assert _queued(broker.url, queue) == [("notify.send_welcome", {"member_id": n})
                                              for n in (1, 2, 3)]

        # Down again mid-life: a new commit waits, and goes out once the broker returns.
        broker.stop()
        assert client.post("/_probe/enqueue/4").status_code == 201
        assert deliver_outbox(app).failed
        broker.start()
        assert len(deliver_outbox(app).delivered) == 1
        assert _queued(broker.url, queue)[-1:] == [("notify.send_welcome", {"member_id": 4})]
    finally:
        broker.stop()
        app.extensions["loyalty.db"].engine.dispose()


def _queued(redis_url: str, queue: str) -> list[tuple[str, dict]]:
    """The messages waiting in the Redis list kombu uses for ``queue``, oldest first."""
    raw = redis.Redis.from_url(redis_url).lrange(queue, 0, -1)
    out = []
    for item in reversed(raw):  # kombu LPUSHes, workers BRPOP
        message = json.loads(item)
        _args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        out.append((message["headers"]["task"], kwargs))
    return out
