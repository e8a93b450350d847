"""Sign-in limits hold across gunicorn workers: their counters are in Redis, not in a worker.

Two sync workers each verify argon2 hashes for tens of milliseconds, so attempts sent four at a
time keep both busy; gunicorn's access log names the worker (pid) that answered each one.  With
per-worker counters twice the limit would get through.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from limits import parse

from loyalty.config import Settings
from loyalty.staff.models import Role
from loyalty.staff.services import add_staff
from tests.auth.chain import PASSWORD
from tests.services import require_redis
from tests.tasks.helpers import ROOT, app_env, free_port, stop, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.slow]

ATTEMPTS = 24


def _attempt(base: str, username: str) -> tuple[int, str | None]:
    body = json.dumps({"username": username, "password": "not the password"}).encode()
    request = urllib.request.Request(f"{base}/api/v1/staff/sessions", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=20) as resp:
            return resp.status, None
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Retry-After")


def _answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/api/v1/openapi.json", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


def _pids(log, path: str, status: str) -> set[str]:  # type: ignore[no-untyped-def]
    lines = [line.split() for line in log.read_text().splitlines()] if log.exists() else []
    return {pid for pid, code, where in lines if where == path and code == status}


def _both_workers_answer(base: str, log) -> bool:  # type: ignore[no-untyped-def]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: _answers(base), range(8)))
    return len(_pids(log, "/api/v1/openapi.json", "200")) == 2


def test_the_sign_in_limit_holds_across_two_gunicorn_workers(db, settings, tmp_path):
    redis_url = require_redis()
    limiter_keys = redis.Redis.from_url(redis_url)
    for key in limiter_keys.scan_iter("LIMITS:LIMITER/loyalty/*"):  # a run a minute ago left these
        limiter_keys.delete(key)
    username = f"cashier-{uuid.uuid4().hex[:8]}"
    add_staff(db, username, PASSWORD, Role.ADMIN)
    db.commit()
    limit = parse(Settings.sign_in_limit_per_account.split(";")[0]).amount  # the real one

    port, log = free_port(), tmp_path / "access.log"
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--worker-class", "sync", "--access-logfile", str(log),
         "--access-logformat", "%(p)s %(s)s %(U)s", "loyalty.wsgi:app"],
        env=app_env(settings, redis_url), cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: _both_workers_answer(base, log), 60, "both workers to answer")
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: _attempt(base, username), range(ATTEMPTS)))
        statuses = [status for status, _ in answers]
        assert statuses.count(401) == limit, statuses
        assert statuses.count(429) == ATTEMPTS - limit, statuses
        assert all(1 <= int(wait) <= 60 for status, wait in answers if status == 429)
        # Both workers answered attempts, and between them refused exactly the limit's worth:
        # a worker that answered only 429s had counted none itself, so it saw the other's
        # count (which of them takes the first attempts is the scheduler's choice).
        # One sync worker can take every attempt of a batch, so more attempts are sent until
        # the other has answered too: all of them must be refused by the shared count.
        path = "/api/v1/staff/sessions"

        def workers_answered() -> set[str]:
            return _pids(log, path, "401") | _pids(log, path, "429")

        more: list[int] = []
        while len(workers_answered()) < 2 and len(more) < 200:
            with ThreadPoolExecutor(4) as pool:
                more += [s for s, _ in pool.map(lambda _: _attempt(base, username), range(8))]
        assert set(more) <= {429}, more
        assert len(workers_answered()) == 2, log.read_text()
        assert any(limiter_keys.scan_iter("LIMITS:LIMITER/loyalty/*"))
    finally:
        stop(server)
