"""What every benchmark needs: a fresh PostgreSQL database, seeded, and the production stack
(deploy/run-stack: gunicorn, a Celery worker, one beat, on Redis) serving it."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.bench.load import Till

ROOT = Path(__file__).resolve().parents[2]
ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def fresh_database(name: str) -> str:
    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def seed(url: str, instance: Path, tills: int, members_per_till: int = 25) -> list[Till]:
    """One store, ``tills`` tills, each with its own members holding plenty of points."""
    from loyalty.config import Settings
    from loyalty.db import make_engine, make_session_factory, unit_of_work
    from loyalty.ledger.services import adjust_points
    from loyalty.members.services import enrol_member
    from loyalty.migrations import upgrade
    from loyalty.rules.models import RuleKind
    from loyalty.rules.services import add_earning_rule
    from loyalty.stores.services import add_till, create_store
    from tests.factories import LONG_AGO

    upgrade(url)
    settings = Settings(instance_path=instance, database_url=url, testing=True)
    engine = make_engine(url)
    seeded = []
    with unit_of_work(make_session_factory(engine)) as session:
        store = create_store(session, "BENCH", "Bench store", "AED", "Asia/Dubai")
        add_earning_rule(session, "base", RuleKind.BASE, valid_from=LONG_AGO)
        for t in range(tills):
            _till, token = add_till(session, store, f"lane {t + 1}")
            cards, member_ids = [], []
            for m in range(members_per_till):
                member, card = enrol_member(session, f"Bench member {t}-{m}",
                                            card_prefix=settings.card_prefix,
                                            card_length=settings.card_length)
                adjust_points(session, member.id, 1_000_000, "bench float", None, "bench", 3650)
                cards.append(card.number)
                member_ids.append(member.id)
            seeded.append(Till(token, cards, member_ids))
    engine.dispose()
    return seeded


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def production_stack(url: str, instance: Path) -> Iterator[int]:
    """Serve ``url`` with deploy/run-stack on a free port; yield the port; stop it after."""
    port = free_port()
    env = {**os.environ, "LOYALTY_DATABASE_URL": url, "LOYALTY_REDIS_URL": REDIS_URL,
           "LOYALTY_SECRET_KEY": "bench-secret", "LOYALTY_INSTANCE_PATH": str(instance),
           "LOYALTY_COUPON_SIGNING_KEY_FILE": str(instance / "coupon.pem"),
           "LOYALTY_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([str(ROOT / "deploy" / "run-stack"), "--port", str(port)], env=env,
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until_up(proc, port)
        yield port
    finally:
        proc.terminate()
        proc.wait(30)


def _wait_until_up(proc: subprocess.Popen, port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1)
            return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("deploy/run-stack exited during start-up") from None
            time.sleep(0.3)
    raise RuntimeError(f"the stack did not answer within {seconds:.0f} s")


def instance_dir(name: str) -> Path:
    path = ROOT / "instance" / "bench" / name
    path.mkdir(parents=True, exist_ok=True)
    return path
