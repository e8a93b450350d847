"""``make bench BENCH=campaigns``: insight rebuild -> segment -> coupons, on 10M basket lines.

1. A fresh PostgreSQL database (``bench_campaigns``) filled by :mod:`tests.bench.campaign_data`
   (1,000,000 members, ~10,000,000 lines over two years), with a fitted churn model in place
   as production has after ``loyalty insight model`` (fixed parameters: the fit itself is not
   part of the nightly pipeline).
2. A real Celery worker (``--pool solo``: the task runs in the worker's process) runs the
   pipeline (:mod:`tests.bench.campaign_worker`): the insight rebuild, the segment of ~200,000
   members, their campaign run planned and issued; then, timed apart, the affinities (their
   own nightly task).  Its peak memory is read from its own
   ``/proc/self/status`` (VmHWM).
3. The floor: the same lines exported to Parquet and DuckDB computing the same RFM table
   (recency, frequency, monetary and the 1-5 scores with the same tie rule); the two tables
   are compared by checksum.

Targets: pipeline <= 60 s; the RFM part of the rebuild <= 3x DuckDB; worker peak <= 1 GiB.
The database is dropped at the end.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.bench.campaign_data import generate
from tests.bench.stack import ADMIN_URL, REDIS_URL, ROOT, fresh_database, instance_dir

DATABASE = "bench_campaigns"
PIPELINE_TARGET_S = 60
RFM_FACTOR_TARGET = 3
PEAK_TARGET_KIB = 1024 * 1024
# At risk, about to sleep or hibernating, 25 or older, who accept email: about a fifth.
RULE = {"and": [
    {"field": "segment", "op": "in", "value": ["At risk", "About to sleep", "Hibernating"]},
    {"field": "age", "op": ">=", "value": 25},
    {"consent": "email"},
]}
OFFER = {"kind": "percent_off", "percent": 15}
# A churn model as `loyalty insight model` leaves one (CDNOW's published fit, in weeks).
FIT = ("INSERT INTO btyd_fit (fitted_at, calibration_end, time_unit_days, customers, r, alpha,"
       " a, b, log_likelihood, p, q, v) VALUES (now(), :day, 7, 1000000, 0.243, 4.414, 0.793,"
       " 2.426, -9582.4, 6.25, 3.74, 1544)")

# The RFM table as member_insight holds it (docs/INSIGHT.md): recency in days from the last
# purchase's UTC date, distinct baskets, sum of net amounts, and 1 + 5 * (RANK() - 1) // n.
DUCKDB_RFM = """
CREATE OR REPLACE TABLE rfm AS
WITH totals AS (
    SELECT member_id, date_diff('day', CAST(max(occurred_at) AS DATE), DATE '{as_of}')
               AS recency_days,
           count(DISTINCT basket_id) AS frequency, sum(net_minor) AS monetary_minor
    FROM read_parquet('{parquet}')
    WHERE occurred_at < TIMESTAMP '{cutoff}'
    GROUP BY member_id)
SELECT *,
       1 + 5 * (rank() OVER (ORDER BY recency_days DESC) - 1) // count(*) OVER () AS r,
       1 + 5 * (rank() OVER (ORDER BY frequency) - 1) // count(*) OVER () AS f,
       1 + 5 * (rank() OVER (ORDER BY monetary_minor) - 1) // count(*) OVER () AS m
FROM totals
"""
CHECKSUM = ("SELECT count(*), sum(recency_days), sum(frequency), sum(monetary_minor),"
            " sum(member_id * (r * 100 + f * 10 + m)) FROM {table}")


def main() -> bool:
    instance = instance_dir("campaigns")
    as_of = dt.datetime.now(dt.UTC).date()
    url = fresh_database(DATABASE)
    try:
        return _run(url, instance, as_of)
    finally:
        _drop(DATABASE)


def _run(url: str, instance: Path, as_of: dt.date) -> bool:
    from loyalty.migrations import upgrade

    upgrade(url)
    started = time.monotonic()
    counts = generate(url, as_of)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(FIT), {"day": as_of})
    print(f"generated {counts['member']:,} members, {counts['basket']:,} baskets, "
          f"{counts['basket_line']:,} lines in {time.monotonic() - started:.0f} s", flush=True)

    figures = _pipeline_in_worker(url, instance)
    floor_s, checksums = _duckdb_floor(engine, instance, as_of)
    engine.dispose()
    return _report(figures, floor_s, checksums)


def _pipeline_in_worker(url: str, instance: Path) -> dict:  # type: ignore[type-arg]
    from celery import Celery

    out = instance / "pipeline.json"
    out.unlink(missing_ok=True)
    env = {**os.environ, "LOYALTY_DATABASE_URL": url, "LOYALTY_REDIS_URL": REDIS_URL,
           "LOYALTY_SECRET_KEY": "bench-secret", "LOYALTY_INSTANCE_PATH": str(instance),
           "LOYALTY_COUPON_SIGNING_KEY_FILE": str(instance / "coupon.pem"),
           "LOYALTY_LOG_LEVEL": "WARNING"}
    celery_bin = str(Path(sys.executable).parent / "celery")
    worker = subprocess.Popen(
        [celery_bin, "-A", "loyalty.celery_app:celery", "worker", "--pool", "solo",
         "--concurrency", "1", "-I", "tests.bench.campaign_worker", "--loglevel", "WARNING",
         "--without-heartbeat", "--without-mingle", "--without-gossip"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(instance / "worker.log", "w"))
    try:
        client = Celery(broker=REDIS_URL)
        client.send_task("bench.campaign_pipeline", args=[RULE, OFFER, str(out)])
        deadline = time.monotonic() + 3600
        while not out.exists():
            if worker.poll() is not None:
                raise RuntimeError(f"the worker exited; see {instance / 'worker.log'}")
            if time.monotonic() > deadline:
                raise RuntimeError("the pipeline did not finish within an hour")
            time.sleep(1)
        return json.loads(out.read_text())
    finally:
        worker.terminate()
        worker.wait(60)


def _duckdb_floor(engine, instance: Path, as_of: dt.date) -> tuple[float, tuple]:  # type: ignore[no-untyped-def,type-arg]
    """Export the lines to Parquet (not timed), then time DuckDB's RFM table."""
    import duckdb

    csv_path, parquet = instance / "lines.csv", instance / "lines.parquet"
    started = time.monotonic()
    with engine.connect() as conn, csv_path.open("wb") as f:
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy("COPY (SELECT b.member_id, l.basket_id, b.occurred_at, l.net_minor"
                         " FROM basket_line l JOIN basket b ON b.id = l.basket_id"
                         " WHERE b.member_id IS NOT NULL) TO STDOUT (FORMAT csv)") as copy:
            for block in copy:
                f.write(block)
        pg_checksum = conn.execute(text(CHECKSUM.format(table="member_insight"))).one()
    duck = duckdb.connect()
    duck.execute("SET threads = 2")  # the machine's two cores
    duck.execute(f"COPY (SELECT * FROM read_csv('{csv_path}', header = false, columns = "
                 "{'member_id': 'INTEGER', 'basket_id': 'INTEGER', 'occurred_at': 'TIMESTAMP',"
                 " 'net_minor': 'INTEGER'})) TO '" + str(parquet) + "' (FORMAT parquet)")
    csv_path.unlink()
    print(f"exported the lines to Parquet ({parquet.stat().st_size / 2**20:.0f} MiB) in "
          f"{time.monotonic() - started:.0f} s (not timed)", flush=True)
    cutoff = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    mark = time.monotonic()
    duck.execute(DUCKDB_RFM.format(as_of=as_of, parquet=parquet, cutoff=cutoff))
    floor_s = time.monotonic() - mark
    duck_checksum = duck.execute(CHECKSUM.format(table="rfm")).fetchone()
    duck.close()
    parquet.unlink()
    return floor_s, (tuple(pg_checksum), tuple(duck_checksum))


def _drop(name: str) -> None:
    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _report(f: dict, floor_s: float, checksums: tuple) -> bool:  # type: ignore[type-arg]
    steps = f["rebuild_steps_s"]
    rfm_s = steps.get("members", f["rebuild_s"])
    issue_s = f["plan_s"] + f["issue_s"]
    peak = f["peak_kib"]
    rows = [
        ("1. insight rebuild", f["rebuild_s"]),
        *((f"   - {name}", seconds) for name, seconds in steps.items()),
        ("2. segment count", f["segment_s"]),
        ("3. plan the run", f["plan_s"]),
        ("   issue the chunks", f["issue_s"]),
        ("pipeline", f["pipeline_s"]),
        ("DuckDB RFM (floor)", floor_s),
        ("affinities (own task)", f["affinities_s"]),
    ]
    width = max(seconds for _, seconds in rows) or 1
    print(f"\n{f['members_scored']:,} members scored; segment {f['segment_members']:,} members;"
          f" run of {f['targets']:,} targets ({f['holdout']:,} held out) in {f['chunks']}"
          f" chunks: {f['issued']:,} coupons issued; run done: {f['run_done']}")
    for name, seconds in rows:  # a chart in the terminal: people read bars faster than tables
        print(f"{name:<24} {seconds:8.1f} s  {'#' * max(1, round(40 * seconds / width))}")
    print(f"worker memory: {f['rss_start_kib'] / 1024:.0f} MiB at the task's start, "
          f"{f['rss_after_rebuild_kib'] / 1024:.0f} MiB after the rebuild, "
          f"peak (VmHWM) {peak / 1024:.0f} MiB; "
          f"{f['peak_with_affinities_kib'] / 1024:.0f} MiB after the affinities; "
          f"affinity rules {f['affinity_rules']}")
    same = checksums[0] == checksums[1]
    print(f"RFM table, PostgreSQL vs DuckDB checksum: {'equal' if same else 'DIFFERENT'} "
          f"{checksums[0]} / {checksums[1]}")
    verdicts = [
        (f"pipeline {f['pipeline_s']:.1f} s <= {PIPELINE_TARGET_S} s",
         f["pipeline_s"] <= PIPELINE_TARGET_S),
        (f"RFM (the members step) {rfm_s:.1f} s <= {RFM_FACTOR_TARGET} x DuckDB {floor_s:.1f} s "
         f"= {RFM_FACTOR_TARGET * floor_s:.1f} s ({rfm_s / floor_s:.1f}x)",
         rfm_s <= RFM_FACTOR_TARGET * floor_s),
        (f"worker peak {peak / 1024:.0f} MiB <= 1024 MiB", peak <= PEAK_TARGET_KIB),
    ]
    print(f"  issuing {issue_s:.1f} s for {f['issued']:,} coupons (a figure; its target is "
          f"BENCH=issuing's)")
    for line, ok in verdicts:
        print(f"  {'met    ' if ok else 'NOT met'}  {line}")
    return same and all(ok for _, ok in verdicts)
