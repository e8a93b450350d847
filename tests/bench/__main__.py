"""``make bench``: the checkout benchmark of the back office (issue 2, section 9).

1. A fresh PostgreSQL database is migrated and seeded: one store, 8 tills, members with points.
2. The production stack (deploy/run-stack: gunicorn, a Celery worker, one beat, on Redis)
   starts against it.
3. 8 concurrent tills each identify a card and commit a 20-line basket redeeming points, over
   and over, for BENCH_SECONDS.
4. pgbench's built-in tpcb-like workload runs on the same server with the same client count:
   the baseline, measured in the same run.
Prints checkouts/s, p50 and p99, the pgbench TPS and the ratio, against the targets.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.bench.load import Till, histogram, run_load
from tests.bench.pgbench import pgbench_tps

ROOT = Path(__file__).resolve().parents[2]
ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
TILLS = int(os.environ.get("BENCH_TILLS", "8"))
TARGET_RATIO, TARGET_P99_MS = 0.25, 25.0


def fresh_database(name: str) -> str:
    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def seed(url: str, instance: Path) -> list[Till]:
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
    tills = []
    with unit_of_work(make_session_factory(engine)) as session:
        store = create_store(session, "BENCH", "Bench store", "AED", "Asia/Dubai")
        add_earning_rule(session, "base", RuleKind.BASE, valid_from=LONG_AGO)
        for t in range(TILLS):
            _till, token = add_till(session, store, f"lane {t + 1}")
            cards = []
            for m in range(25):
                member, card = enrol_member(session, f"Bench member {t}-{m}",
                                            card_prefix=settings.card_prefix,
                                            card_length=settings.card_length)
                adjust_points(session, member.id, 1_000_000, "bench float", None, "bench", 3650)
                cards.append(card.number)
            tills.append(Till(token, cards))
    engine.dispose()
    return tills


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_stack(url: str, port: int, instance: Path) -> subprocess.Popen:
    env = {**os.environ, "LOYALTY_DATABASE_URL": url, "LOYALTY_REDIS_URL": REDIS_URL,
           "LOYALTY_SECRET_KEY": "bench-secret", "LOYALTY_INSTANCE_PATH": str(instance),
           "LOYALTY_COUPON_SIGNING_KEY_FILE": str(instance / "coupon.pem"),
           "LOYALTY_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([str(ROOT / "deploy" / "run-stack"), "--port", str(port)], env=env,
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1)
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("deploy/run-stack exited during start-up") from None
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("the stack did not answer within 60 s")


def main() -> int:
    instance = ROOT / "instance" / "bench"
    instance.mkdir(parents=True, exist_ok=True)
    url = fresh_database("loyalty_bench")
    print(f"seeding {TILLS} tills x 25 members ...", flush=True)
    tills = seed(url, instance)
    port = free_port()
    stack = start_stack(url, port, instance)
    try:
        print("warming up ...", flush=True)
        run_load("127.0.0.1", port, tills, 3)
        print(f"{TILLS} tills, identify + commit of 20 lines with redemption, {SECONDS} s ...",
              flush=True)
        load = run_load("127.0.0.1", port, tills, SECONDS)
    finally:
        stack.terminate()
        stack.wait(30)
    pg = make_url(ADMIN_URL)
    print(f"pgbench tpcb-like, {TILLS} clients, {SECONDS} s ...", flush=True)
    tps = pgbench_tps(ADMIN_URL, pg.host or "127.0.0.1", pg.port or 5432,
                      pg.username or "postgres", TILLS, SECONDS)
    report(load, tps)
    return 0


def report(load, tps: float) -> None:  # type: ignore[no-untyped-def]
    ratio = load.rate / tps if tps else 0.0
    print("\nlatency of identify + commit (ms)\n" + histogram(load.latencies_ms))
    print(f"\ncheckouts           {len(load.latencies_ms)} in {load.elapsed_s:.1f} s"
          f"  errors {load.errors or 'none'}")
    print(f"checkouts/s         {load.rate:8.1f}")
    print(f"p50                 {load.p50:8.1f} ms")
    print(f"p99                 {load.percentile(99):8.1f} ms   target <= {TARGET_P99_MS}")
    print(f"pgbench tpcb TPS    {tps:8.1f}   (same server, {TILLS} clients)")
    print(f"ratio               {ratio:8.3f}   target >= {TARGET_RATIO}")
    met = ratio >= TARGET_RATIO and load.percentile(99) <= TARGET_P99_MS
    print("targets             " + ("met" if met else "NOT met"))


if __name__ == "__main__":
    sys.exit(main())
