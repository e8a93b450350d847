"""Issuing through Celery: in-process (the embedded default) and with a real worker that is
killed (SIGKILL) in the middle of a run, then restarted: every treated member ends with
exactly one coupon and one message, nobody with two, nobody skipped."""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest
import redis
from sqlalchemy import func, select, text

from loyalty.campaigns.issuing import issue_chunk, resume_run, run_progress, start_run
from loyalty.campaigns.models import Campaign, CampaignTarget
from loyalty.coupons.models import Coupon
from loyalty.db import is_postgres, unit_of_work
from loyalty.messaging.models import Message
from loyalty.outbox.tasks import deliver_outbox
from tests.campaigns.helpers import add_members, audience_of, make_campaign
from tests.services import require_redis
from tests.tasks.helpers import wait_for
from tests.tasks.test_worker import producer_app, start_worker


def _check_everyone_once(session, campaign_id: int, run_id: int) -> int:
    """Each treated target has exactly one coupon and one message; the holdout none."""
    treated = set(session.scalars(select(CampaignTarget.member_id).where(
        CampaignTarget.run_id == run_id, CampaignTarget.holdout.is_(False))))
    held = set(session.scalars(select(CampaignTarget.member_id).where(
        CampaignTarget.run_id == run_id, CampaignTarget.holdout.is_(True))))
    coupons = dict(session.execute(
        select(Coupon.member_id, func.count()).where(Coupon.campaign_id == campaign_id)
        .group_by(Coupon.member_id)).all())
    messages = dict(session.execute(
        select(Message.member_id, func.count()).group_by(Message.member_id)).all())
    assert set(coupons) == treated, "someone was skipped, or a held-out member got a coupon"
    assert set(coupons.values()) == {1}, "someone got two coupons"
    assert messages == dict.fromkeys(treated, 1)
    assert held and not held & set(coupons)
    return len(treated)


def test_in_the_embedded_default_a_started_run_issues_after_the_commit(db):
    members = add_members(db, 300)
    campaign = make_campaign(db, channel="wallet")
    run = start_run(db, campaign, "launch", audience_of(members), chunk_size=64)
    assert db.scalar(select(func.count()).select_from(Coupon)) == 0  # nothing before commit
    db.commit()  # the in-process relay runs the chunks' tasks now
    db.expire_all()
    progress = run_progress(db, run.id)
    assert (progress.status, progress.chunks_done, progress.chunks_total) == ("done", 5, 5)
    assert _check_everyone_once(db, campaign.id, run.id) == progress.issued
    # Starting it again finds nothing to do.
    again = start_run(db, db.get(Campaign, campaign.id), "launch", audience_of(members))
    db.commit()
    assert again.id == run.id
    assert db.scalar(select(func.count()).select_from(Coupon)) == progress.issued


@pytest.mark.redis
@pytest.mark.slow
def test_a_worker_killed_mid_run_then_restarted_leaves_everyone_with_one_coupon(
    db, settings, sessions, tmp_path
):
    redis_url = require_redis()
    queue = f"loyalty-test-{uuid.uuid4().hex[:12]}"
    members = add_members(db, 1500)
    campaign = make_campaign(db, channel="wallet", budget_minor=10**8, cost_per_coupon_minor=5)
    db.commit()
    campaign_id = campaign.id
    with unit_of_work(sessions) as s:
        run_id = start_run(s, s.get(Campaign, campaign_id), "launch", audience_of(members),
                           chunk_size=100).id
    # Another worker, here, shares the campaign: it issues the first two chunks.
    for chunk in (0, 1):
        with unit_of_work(sessions) as s:
            issue_chunk(s, run_id, chunk)
    app = producer_app(settings, redis_url, queue)
    # 15 chunks and the two chunks' message batches, in Redis, waiting for a worker
    assert len(deliver_outbox(app).delivered) == 17
    log = tmp_path / "worker.log"
    blocker = sessions()
    # Hold the campaign row (SQLite: the write lock): the worker's first chunk with work left
    # stops in the middle (PostgreSQL: its coupons, outcomes and messages written, waiting to
    # take its share of the budget), and dies there.
    _hold_campaign(blocker, campaign_id)
    worker = start_worker(settings, redis_url, queue, log)
    try:
        wait_for(lambda: "campaigns.issue_chunk" in log.read_text(), 120,
                 "the worker to take a chunk")
        _wait_until_worker_blocked(blocker)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
        blocker.rollback()
        with sessions() as s:
            at_kill = run_progress(s, run_id)
        assert at_kill.pending > 0 and at_kill.issued > 0 and at_kill.status == "planned"

        worker = start_worker(settings, redis_url, queue, log)
        with unit_of_work(sessions) as s:  # what the beat's campaigns.resume_runs does
            assert resume_run(s, run_id)
        deliver_outbox(app)
        wait_for(lambda: _status(sessions, run_id) == "done", 120, "the run to finish")
        with sessions() as s:
            progress = run_progress(s, run_id)
            assert progress.issued == _check_everyone_once(s, campaign_id, run_id)
            assert progress.pending == 0 and progress.chunks_done == 15
            committed = s.get(Campaign, campaign_id).committed_minor
            assert committed == 5 * progress.issued  # the killed chunk's share was not kept
    except AssertionError:
        print(log.read_text()[-4000:])
        raise
    finally:
        blocker.close()
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
        redis.Redis.from_url(redis_url).delete(queue)
        app.extensions["loyalty.db"].engine.dispose()


def _status(sessions, run_id: int) -> str:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return run_progress(s, run_id).status


def _hold_campaign(blocker, campaign_id: int) -> None:  # type: ignore[no-untyped-def]
    blocker.execute(select(Campaign.id).where(Campaign.id == campaign_id)
                    .with_for_update(key_share=True))


def _wait_until_worker_blocked(blocker) -> None:  # type: ignore[no-untyped-def]
    if not is_postgres(blocker):
        time.sleep(1)  # the worker's task is in its BEGIN IMMEDIATE, waiting for our lock
        return
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND query LIKE 'UPDATE campaign SET committed_minor%' AND pid <> pg_backend_pid()")
    engine = blocker.get_bind()

    def worker_waits() -> bool:
        with engine.connect() as probe:  # a new transaction: the view is a snapshot per one
            return probe.execute(waiting).scalar() > 0

    wait_for(worker_waits, 60, "the worker to wait for the campaign row mid-chunk")
