"""An idle worker and beat at INFO keep quiet: the outbox relay beat sends every two seconds
leaves no line per run, while the work it relays is still logged."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from loyalty.db import unit_of_work
from loyalty.ledger.services import member_balance
from loyalty.outbox.services import enqueue
from loyalty.worker import RELAY_EVERY_SECONDS
from tests.tasks.helpers import ROOT, PrivateRedis, app_env, member_with_points, stop, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.slow]

IDLE_RELAYS = 3  # beat periods watched while nothing happens


def _celery(settings, redis_url: str, log: Path, *args: str) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    env = {**app_env(settings, redis_url), "LOYALTY_LOG_LEVEL": "INFO"}
    cmd = [sys.executable, "-m", "celery", "-A", "loyalty.celery_app:celery", *args,
           "--loglevel", "INFO"]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _balance(sessions, member_id: int) -> int:  # type: ignore[no-untyped-def]
    with sessions() as s:  # a session per look: SQLite's worker must be able to write
        return member_balance(s, member_id)


def _relay_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "outbox.relay" in line or "outbox-relay" in line]


def test_idle_worker_and_beat_log_nothing_per_relay(db, settings, sessions, tmp_path):
    member_id = member_with_points(db, settings, 30, days_ago=400)
    db.commit()
    broker = PrivateRedis(tmp_path)  # a broker of our own: no other run's beat or worker
    broker.start()
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    worker = _celery(settings, broker.url, worker_log, "worker", "--concurrency", "1",
                     "-n", "quiet@%h", "--without-mingle", "--without-gossip")
    beat = _celery(settings, broker.url, beat_log, "beat",
                   "--schedule", str(tmp_path / "celerybeat-schedule"))
    try:
        with unit_of_work(sessions) as s:
            enqueue(s, "ledger.expire_points")
        wait_for(lambda: _balance(sessions, member_id) == 0, 60,
                 "beat and worker to relay and expire")
        quiet_from = (len(worker_log.read_text()), len(beat_log.read_text()))
        time.sleep(IDLE_RELAYS * RELAY_EVERY_SECONDS + 0.5)
        assert worker.poll() is None and beat.poll() is None, "worker or beat died"
    finally:
        stop(beat)
        stop(worker)
        broker.stop()

    worker_text, beat_text = worker_log.read_text(), beat_log.read_text()
    idle = worker_text[quiet_from[0]:] + beat_text[quiet_from[1]:]
    assert _relay_lines(idle) == [], idle
    # The log is alive at INFO: the relayed task and the relay's delivery are in it.
    assert "ledger.expire_points" in worker_text and "outbox relay: 1 delivered" in worker_text
    assert '"level": "INFO"' in beat_text
