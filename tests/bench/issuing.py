"""``make bench BENCH=issuing``: a campaign's 200,000 coupons on PostgreSQL (issue 9 section 5).

A fresh database with 222,222 members; a campaign with a 10% holdout, a budget, a wallet
message per coupon.  Timed: planning the run (its targets, one INSERT ... SELECT) and issuing
every chunk with two processes at once, as two workers would (each chunk as the
``campaigns.issue_chunk`` task runs it: one transaction of :func:`issue_chunk`).

The machine's two cores are shared (other test runs, other benchmarks), so beside the wall
time it prints the CPU time spent, in the issuing processes and in their PostgreSQL backends
(read from /proc): the wall time two idle cores would need is at least half of it.

Baselines in the same run: the floor, a plain ``INSERT ... SELECT`` of as many coupon rows (no
codes from Python, no budget, no messages, rolled back); and ``issue_coupon`` one by one for a
sample of 2,000 members, extrapolated.  Target: 200,000 coupons in under 20 s.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from tests.bench.stack import fresh_database

MEMBERS = int(os.environ.get("BENCH_ISSUING_MEMBERS", "222222"))
TARGET_COUPONS = 200_000
TARGET_SECONDS = 20.0
WORKERS = 2
SAMPLE = 2000


def main() -> bool:
    from loyalty.migrations import upgrade

    url = fresh_database("loyalty_bench_issuing")
    upgrade(url)
    factory = _sessions(url)
    _seed_members(factory, MEMBERS)
    print(f"{MEMBERS:,} members", flush=True)

    plan_s, plan_cpu, run_id, campaign_id = _plan(url)
    issue_s, issue_cpu = issue_in_parallel(url, run_id, WORKERS)
    issued = _check(factory, campaign_id, run_id)
    total, cpu = plan_s + issue_s, plan_cpu + issue_cpu
    rate = issued / total
    for_target = TARGET_COUPONS / rate
    print(f"plan (targets, INSERT ... SELECT): {plan_s:.1f} s; issue ({WORKERS} workers): "
          f"{issue_s:.1f} s; {issued:,} coupons", flush=True)
    print(f"campaign issuing: {issued:,} coupons in {total:.1f} s measured ({rate:,.0f}/s); "
          f"at that rate {TARGET_COUPONS:,} in {for_target:.1f} s (target < "
          f"{TARGET_SECONDS:.0f} s)", flush=True)
    idle = (plan_cpu + issue_cpu / WORKERS) * TARGET_COUPONS / issued
    print(f"CPU spent: plan {plan_cpu:.1f} s, issue {issue_cpu:.1f} s (Python + PostgreSQL); "
          f"on {WORKERS} idle cores (the plan on one, the chunks on both) at least {idle:.1f} s "
          f"for {TARGET_COUPONS:,}", flush=True)

    floor_s, floor_cpu = _floor(url, issued)
    print(f"floor, a plain INSERT ... SELECT of {issued:,} coupon rows: {floor_s:.1f} s "
          f"({floor_cpu:.1f} s CPU); issuing takes {total / floor_s:.1f}x its time and "
          f"{cpu / floor_cpu:.1f}x its CPU", flush=True)
    one_s = _one_by_one(factory, SAMPLE)
    print(f"issue_coupon one by one: {SAMPLE / one_s:,.0f} coupons/s, so {TARGET_COUPONS:,} "
          f"in ~{TARGET_COUPONS * one_s / SAMPLE:.0f} s; issuing is "
          f"{(TARGET_COUPONS * one_s / SAMPLE) / for_target:.0f}x faster", flush=True)
    return for_target < TARGET_SECONDS


def _sessions(url: str):  # type: ignore[no-untyped-def]
    """Sessions on ONE connection, so its PostgreSQL backend's CPU time can be read."""
    from loyalty.db import make_engine, make_session_factory

    return make_session_factory(make_engine(url, pool_size=1, max_overflow=0))


class _Cpu:
    """CPU seconds of this process and of the PostgreSQL backend behind ``factory``."""

    def __init__(self, factory) -> None:  # type: ignore[no-untyped-def]
        with factory() as s:
            self.backend = s.scalar(text("SELECT pg_backend_pid()"))
            s.commit()
        self.start = self._now()

    def _now(self) -> tuple[float, float]:
        fields = Path(f"/proc/{self.backend}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        return time.process_time(), ticks / os.sysconf("SC_CLK_TCK")

    def split(self) -> tuple[float, float]:
        """(Python, PostgreSQL) CPU seconds since this was made."""
        now = self._now()
        return now[0] - self.start[0], now[1] - self.start[1]

    def spent(self) -> float:
        return sum(self.split())


def _seed_members(factory, count: int) -> None:  # type: ignore[no-untyped-def]
    from loyalty.db import unit_of_work

    with unit_of_work(factory) as s:
        s.execute(text(
            "INSERT INTO member (name, language, preferred_channel, created_at) "
            "SELECT 'Member ' || g, (ARRAY['en', 'ar', 'fa'])[1 + g % 3], 'sms', now() "
            "FROM generate_series(1, :n) AS g"), {"n": count})
    with factory() as s:
        s.execute(text("ANALYZE"))
        s.commit()


def _plan(url: str) -> tuple[float, float, int, int]:
    from loyalty.campaigns.issuing import plan_run
    from loyalty.campaigns.models import Campaign
    from loyalty.db import unit_of_work
    from tests.campaigns.helpers import audience_of, make_campaign

    factory = _sessions(url)
    with unit_of_work(factory) as s:
        campaign = make_campaign(s, name="Bench", channel="wallet", budget_minor=2_000_000_000,
                                 cost_per_coupon_minor=500)
        campaign_id = campaign.id
    cpu = _Cpu(factory)
    started = time.perf_counter()
    with unit_of_work(factory) as s:
        run_id = plan_run(s, s.get(Campaign, campaign_id), "launch", audience_of()).id
    elapsed, spent = time.perf_counter() - started, cpu.spent()
    factory.kw["bind"].dispose()
    return elapsed, spent, run_id, campaign_id


def issue_in_parallel(url: str, run_id: int, workers: int) -> tuple[float, float]:
    """Issue every chunk of the run with ``workers`` processes sharing the chunks, each chunk
    one transaction as the task runs it; returns the seconds it took and the CPU seconds the
    processes and their database backends spent."""
    from loyalty.campaigns.issuing import pending_chunks

    factory = _sessions(url)
    with factory() as s:
        chunks = pending_chunks(s, run_id)
    factory.kw["bind"].dispose()
    context = multiprocessing.get_context("spawn")
    queue: Any = context.Queue()
    spent: Any = context.Queue()
    for chunk in chunks:
        queue.put(chunk)
    for _ in range(workers):
        queue.put(None)
    # Timed from when every process has started (imports, a connection), as running workers.
    ready: Any = context.Barrier(workers + 1)
    processes = [context.Process(target=_worker, args=(url, run_id, queue, spent, ready))
                 for _ in range(workers)]
    for process in processes:
        process.start()
    ready.wait(120)
    started = time.perf_counter()
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"an issuing process failed ({process.exitcode})")
    elapsed = time.perf_counter() - started
    parts = [spent.get() for _ in processes]
    python, database = sum(p for p, _ in parts), sum(d for _, d in parts)
    print(f"  issuing CPU: Python {python:.1f} s, PostgreSQL {database:.1f} s", flush=True)
    return elapsed, python + database


def _worker(url: str, run_id: int, queue: Any, spent: Any, ready: Any) -> None:
    import loyalty.app  # noqa: F401 - every model mapped, as in a worker
    from loyalty.campaigns.issuing import finish_run, issue_chunk
    from loyalty.db import unit_of_work

    factory = _sessions(url)
    cpu = _Cpu(factory)
    ready.wait(120)
    while (chunk := queue.get()) is not None:
        with unit_of_work(factory) as s:
            done = issue_chunk(s, run_id, chunk).run_done
        if not done:
            with unit_of_work(factory) as s:
                finish_run(s, run_id)
    spent.put(cpu.split())


def _check(factory, campaign_id: int, run_id: int) -> int:  # type: ignore[no-untyped-def]
    from loyalty.campaigns.issuing import run_progress
    from loyalty.coupons.models import Coupon

    with factory() as s:
        progress = run_progress(s, run_id)
        coupons, members = s.execute(
            select(func.count(), func.count(func.distinct(Coupon.member_id)))
            .where(Coupon.campaign_id == campaign_id)).one()
    if not (progress.status == "done" and coupons == members == progress.issued
            == progress.targets - progress.holdout):
        raise RuntimeError(f"the run is not right: {progress}, {coupons} coupons")
    return coupons


def _floor(url: str, rows: int) -> tuple[float, float]:
    """A plain INSERT ... SELECT of ``rows`` coupons (codes made in SQL), rolled back."""
    factory = _sessions(url)
    cpu = _Cpu(factory)
    with factory() as s:
        started = time.perf_counter()
        s.execute(text(
            "INSERT INTO coupon (code, member_id, kind, percent, min_spend_minor, exclusive, "
            "valid_from, valid_to, status, issued_at) "
            "SELECT 'F' || id, id, 'percent_off', 10, 0, false, now(), now() + interval '30 days',"
            " 'issued', now() FROM member ORDER BY id LIMIT :n"), {"n": rows})
        s.flush()
        elapsed, spent = time.perf_counter() - started, cpu.spent()
        s.rollback()
    factory.kw["bind"].dispose()
    return elapsed, spent


def _one_by_one(factory, sample: int) -> float:  # type: ignore[no-untyped-def]
    """``issue_coupon`` (the desk's path) for ``sample`` members, one transaction each."""
    from loyalty.coupons.models import OfferKind
    from loyalty.coupons.services import Offer, issue_coupon
    from loyalty.db import unit_of_work

    with factory() as s:
        members = list(s.scalars(text("SELECT id FROM member ORDER BY id LIMIT :n"),
                                 {"n": sample}))
    offer = Offer(kind=OfferKind.PERCENT_OFF, percent=10)
    started = time.perf_counter()
    for member_id in members:
        with unit_of_work(factory) as s:
            issue_coupon(s, member_id, offer, staff_id=None, actor="bench")
    return time.perf_counter() - started
