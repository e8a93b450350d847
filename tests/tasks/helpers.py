"""Shared by the task, outbox and deploy tests: points past their date, processes, waiting."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from loyalty.config import Settings
from loyalty.db import make_engine, make_session_factory, utcnow
from loyalty.ledger.models import PostingKind
from loyalty.ledger.services import PostingRequest, earn_points
from tests.factories import make_member
from tests.services import service_missing

ROOT = Path(__file__).resolve().parents[2]
LIFETIME_DAYS = 365


def member_with_points(db: Session, settings: Settings, points: int, days_ago: int) -> int:
    """A member holding one lot earned ``days_ago`` (past its date when > LIFETIME_DAYS)."""
    member, _card = make_member(db, settings)
    earned_at = utcnow() - dt.timedelta(days=days_ago)
    earn_points(db, PostingRequest(PostingKind.EARN, member.id, points, earned_at,
                                   reason="test purchase"), LIFETIME_DAYS)
    return member.id


def plain_sessions(url: str) -> sessionmaker[Session]:
    """Sessions on their own engine, with none of an app's hooks (no in-process relay)."""
    return make_session_factory(make_engine(url))


def wait_for(check: Callable[[], object], timeout: float, what: str, every: float = 0.1) -> object:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli_env(settings: Settings) -> dict[str, str]:
    """The environment a ``loyalty ...`` command run by hand in a test gets: the test's
    database, tasks in-process (no Redis)."""
    return {
        "LOYALTY_DATABASE_URL": settings.resolved_database_url,
        "LOYALTY_INSTANCE_PATH": str(settings.instance_path),
        "LOYALTY_SECRET_KEY": "test-secret",
        "LOYALTY_TESTING": "true",
        "LOYALTY_REDIS_URL": "",
    }


def app_env(settings: Settings, redis_url: str) -> dict[str, str]:
    """The environment a worker or the stack gets: the test's database, the given Redis."""
    return {
        **os.environ,
        "LOYALTY_DATABASE_URL": settings.resolved_database_url,
        "LOYALTY_REDIS_URL": redis_url,
        "LOYALTY_INSTANCE_PATH": str(settings.instance_path),
        "LOYALTY_SECRET_KEY": "test-secret",
        "LOYALTY_COUPON_SIGNING_KEY_FILE": str(settings.instance_path / "coupon.pem"),
        "LOYALTY_LOG_LEVEL": "WARNING",
    }


def stop(proc: subprocess.Popen, timeout: float = 15) -> int:
    """SIGTERM the process group, wait a bounded time, then SIGKILL what is left."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(5)
    return proc.returncode


class PrivateRedis:
    """A redis-server of our own on a free port, so a test can stop and restart the broker."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            service_missing("redis-server", FileNotFoundError("redis-server not on PATH"))
        self.binary = str(binary)
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        wait_for(lambda: _pings(client), 10, "the private redis-server")

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, 5)
            self.proc = None


def _pings(client) -> bool:  # type: ignore[no-untyped-def]
    try:
        return bool(client.ping())
    except Exception:  # noqa: BLE001
        return False
