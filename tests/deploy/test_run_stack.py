"""deploy/run-stack: migrations, gunicorn, a Celery worker and one beat, stopped by SIGTERM.

The stack runs against the test database and the machine's Redis, and is checked end to end:
the web answers, and beat + worker relay an outbox message and run the task it names.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import urllib.request

import pytest
import redis

from loyalty.db import unit_of_work
from loyalty.ledger.services import member_balance
from loyalty.outbox.services import enqueue
from tests.services import STACK_REDIS_URL, require_redis
from tests.tasks.helpers import (
    ROOT,
    app_env,
    free_port,
    member_with_points,
    plain_sessions,
    stop,
    wait_for,
)

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return resp.status == 200 and b'"openapi"' in resp.read()
    except OSError:
        return False


def _balance(factory, member_id: int) -> int:  # type: ignore[no-untyped-def]
    with factory() as s:
        return member_balance(s, member_id)


def test_run_stack_serves_runs_tasks_and_stops_on_sigterm(db, settings, tmp_path):
    # A Redis database of its own: the stack's worker listens on the default queue.
    redis_url = require_redis(STACK_REDIS_URL)
    redis.Redis.from_url(redis_url).flushdb()  # no messages left over from an earlier run
    member_id = member_with_points(db, settings, 40, days_ago=400)
    db.commit()
    sessions = plain_sessions(settings.resolved_database_url)
    with unit_of_work(sessions) as s:
        enqueue(s, "ledger.expire_points")

    port = free_port()
    log = tmp_path / "stack.log"
    with log.open("wb") as out:
        stack = subprocess.Popen(
            [str(ROOT / "deploy" / "run-stack"), "--port", str(port), "--web-workers", "2",
             "--worker-concurrency", "1", "--stop-timeout", "15"],
            env={**app_env(settings, redis_url), "LOYALTY_LOG_LEVEL": "INFO"}, cwd=ROOT,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/api/v1/openapi.json"), 60,
                 "the web to answer")
        # Beat sends outbox.relay every few seconds; the worker relays, then expires.
        wait_for(lambda: _balance(sessions, member_id) == 0, 30, "beat + worker to expire")
        pids = [int(p) for p in re.findall(r"(?:web|worker|beat) (\d+)", log.read_text())]
        assert len(pids) == 3

        stack.send_signal(signal.SIGTERM)
        assert stack.wait(30) == 0
        for pid in pids:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        assert not _answers(f"http://127.0.0.1:{port}/api/v1/openapi.json")
    except BaseException:
        print(log.read_text()[-6000:])
        raise
    finally:
        stop(stack)
        sessions.kw["bind"].dispose()
