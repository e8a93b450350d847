"""``make bench BENCH=issuing``: a campaign's 200,000 coupons on PostgreSQL (issue 9 section 5).

A fresh database with 222,222 members; a campaign with a 10% holdout, a budget, a wallet
message per coupon.  Timed: planning the run (its targets, one INSERT ... SELECT) and issuing
every chunk with two processes at once, as two workers would (each chunk as the
``campaigns.issue_chunk`` task runs it: one transaction of :func:`issue_chunk`).

Baselines in the same run: the floor, a plain ``INSERT ... SELECT`` of as many coupon rows (no
codes from Python, no budget, no messages, rolled back); and ``issue_coupon`` one by one for a
sample of 2,000 members, extrapolated.  Target: 200,000 coupons in under 20 s.
"""

from __future__ import annotations

import multiprocessing
import os
import time
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

    plan_s, run_id, campaign_id = _plan(factory)
    issue_s = issue_in_parallel(url, run_id, WORKERS)
    issued = _check(factory, campaign_id, run_id)
    total = plan_s + issue_s
    rate = issued / total
    for_target = TARGET_COUPONS / rate
    print(f"plan (targets, INSERT ... SELECT): {plan_s:.1f} s; issue ({WORKERS} workers): "
          f"{issue_s:.1f} s; {issued:,} coupons", flush=True)
    print(f"campaign issuing: {rate:,.0f} coupons/s; {TARGET_COUPONS:,} coupons in "
          f"{for_target:.1f} s (target < {TARGET_SECONDS:.0f} s)", flush=True)

    floor_s = _floor(factory, issued)
    print(f"floor, a plain INSERT ... SELECT of {issued:,} coupon rows: {floor_s:.1f} s "
          f"({issued / floor_s:,.0f} rows/s); issuing takes {total / floor_s:.1f}x that",
          flush=True)
    one_s = _one_by_one(factory, SAMPLE)
    print(f"issue_coupon one by one: {SAMPLE / one_s:,.0f} coupons/s, so {TARGET_COUPONS:,} "
          f"in ~{TARGET_COUPONS * one_s / SAMPLE:.0f} s; issuing is "
          f"{(TARGET_COUPONS * one_s / SAMPLE) / for_target:.0f}x faster", flush=True)
    return for_target < TARGET_SECONDS


def _sessions(url: str):  # type: ignore[no-untyped-def]
    from loyalty.db import make_engine, make_session_factory

    return make_session_factory(make_engine(url))


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


def _plan(factory) -> tuple[float, int, int]:  # type: ignore[no-untyped-def]
    from loyalty.campaigns.issuing import plan_run
    from loyalty.db import unit_of_work
    from tests.campaigns.helpers import audience_of, make_campaign

    with unit_of_work(factory) as s:
        campaign = make_campaign(s, name="Bench", channel="wallet", budget_minor=2_000_000_000,
                                 cost_per_coupon_minor=500)
        campaign_id = campaign.id
    started = time.perf_counter()
    with unit_of_work(factory) as s:
        from loyalty.campaigns.models import Campaign

        run_id = plan_run(s, s.get(Campaign, campaign_id), "launch", audience_of()).id
    return time.perf_counter() - started, run_id, campaign_id


def issue_in_parallel(url: str, run_id: int, workers: int) -> float:
    """Issue every chunk of the run with ``workers`` processes sharing the chunks, each chunk
    one transaction as the task runs it; returns the seconds it took."""
    from loyalty.campaigns.issuing import pending_chunks

    factory = _sessions(url)
    with factory() as s:
        chunks = pending_chunks(s, run_id)
    factory.kw["bind"].dispose()
    context = multiprocessing.get_context("spawn")
    queue: Any = context.Queue()
    for chunk in chunks:
        queue.put(chunk)
    for _ in range(workers):
        queue.put(None)
    processes = [context.Process(target=_worker, args=(url, run_id, queue))
                 for _ in range(workers)]
    started = time.perf_counter()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"an issuing process failed ({process.exitcode})")
    return time.perf_counter() - started


def _worker(url: str, run_id: int, queue: Any) -> None:
    import loyalty.app  # noqa: F401 - every model mapped, as in a worker
    from loyalty.campaigns.issuing import finish_run, issue_chunk
    from loyalty.db import unit_of_work

    factory = _sessions(url)
    while (chunk := queue.get()) is not None:
        with unit_of_work(factory) as s:
            done = issue_chunk(s, run_id, chunk).run_done
        if not done:
            with unit_of_work(factory) as s:
                finish_run(s, run_id)


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


def _floor(factory, rows: int) -> float:  # type: ignore[no-untyped-def]
    """A plain INSERT ... SELECT of ``rows`` coupons (codes made in SQL), rolled back."""
    with factory() as s:
        started = time.perf_counter()
        s.execute(text(
            "INSERT INTO coupon (code, member_id, kind, percent, min_spend_minor, exclusive, "
            "valid_from, valid_to, status, issued_at) "
            "SELECT 'F' || id, id, 'percent_off', 10, 0, false, now(), now() + interval '30 days',"
            " 'issued', now() FROM member ORDER BY id LIMIT :n"), {"n": rows})
        s.flush()
        elapsed = time.perf_counter() - started
        s.rollback()
    return elapsed


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
