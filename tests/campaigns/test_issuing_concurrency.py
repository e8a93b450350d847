"""Several workers on one campaign, on PostgreSQL (SQLite serialises writers, so there the
question does not arise): the same chunk issued twice at once, chunks racing for the last of
the budget, and two limited campaigns reaching one member at the same moment."""

from __future__ import annotations

import itertools
import threading

import pytest
from sqlalchemy import func, select

from loyalty.campaigns.issuing import issue_chunk, plan_run, run_progress
from loyalty.campaigns.models import Campaign
from loyalty.coupons.models import Coupon
from loyalty.db import unit_of_work
from loyalty.messaging.models import Message
from tests.campaigns.helpers import add_members, audience_of, make_campaign
from tests.factories import side_by_side

pytestmark = pytest.mark.postgres


def _plan(db, members, chunk_size, **fields) -> tuple[int, int]:
    campaign = make_campaign(db, channel="wallet", **fields)
    run = plan_run(db, campaign, "launch", audience_of(members), chunk_size=chunk_size)
    db.commit()
    return campaign.id, run.id


def _one_coupon_each(db, campaign_id: int) -> list[int]:
    per_member = db.execute(select(Coupon.member_id, func.count())
                            .where(Coupon.campaign_id == campaign_id)
                            .group_by(Coupon.member_id)).all()
    assert all(count == 1 for _, count in per_member), "a member got two coupons"
    return sorted(m for m, _ in per_member)


def test_the_same_chunk_issued_four_times_at_once_gives_one_coupon_per_member(db, sessions):
    members = add_members(db, 2000)
    campaign_id, run_id = _plan(db, members, chunk_size=2000)

    def issue():  # type: ignore[no-untyped-def]
        with unit_of_work(sessions) as s:
            return issue_chunk(s, run_id, 0)

    results = side_by_side(issue, times=4)
    db.expire_all()
    progress = run_progress(db, run_id)
    treated = progress.targets - progress.holdout
    assert sum(r.issued for r in results) == treated == progress.issued
    assert progress.pending == 0 and progress.status == "done"
    assert len(_one_coupon_each(db, campaign_id)) == treated
    messages = db.execute(select(Message.member_id, func.count()).group_by(Message.member_id))
    assert all(count == 1 for _, count in messages)


def test_chunks_racing_for_the_budget_never_cross_it(db, sessions):
    members = add_members(db, 1200)
    # 500 coupons of 700 fit the budget (with 300 to spare, less than one coupon).
    campaign_id, run_id = _plan(db, members, chunk_size=100, holdout_percent=0,
                                budget_minor=350_300, cost_per_coupon_minor=700)
    chunks = itertools.count()
    lock = threading.Lock()

    def issue_some():  # type: ignore[no-untyped-def]
        done = []
        while True:
            with lock:
                chunk = next(chunks)
            if chunk >= 12:
                return done
            with unit_of_work(sessions) as s:
                done.append(issue_chunk(s, run_id, chunk))

    results = [r for batch in side_by_side(issue_some, times=4) for r in batch]
    db.expire_all()
    campaign = db.get(Campaign, campaign_id)
    issued = _one_coupon_each(db, campaign_id)
    assert campaign.committed_minor == 500 * 700 <= campaign.budget_minor
    assert len(issued) == 500 == sum(r.issued for r in results)
    progress = run_progress(db, run_id)
    assert (progress.issued, progress.over_budget, progress.pending) == (500, 700, 0)


def test_two_limited_campaigns_at_once_do_not_both_pass_the_members_limit(db, sessions):
    members = add_members(db, 600)
    # At most one campaign coupon a week: each member gets one of the two campaigns' coupons.
    limits = {"holdout_percent": 0, "member_limit_count": 1, "member_limit_days": 7}
    first = _plan(db, members, 600, name="First", **limits)
    second = _plan(db, members, 600, name="Second", **limits)
    runs = iter([first[1], second[1]])
    lock = threading.Lock()

    def issue():  # type: ignore[no-untyped-def]
        with lock:
            run_id = next(runs)
        with unit_of_work(sessions) as s:
            return issue_chunk(s, run_id, 0)

    results = side_by_side(issue, times=2)
    db.expire_all()
    per_member = dict(db.execute(select(Coupon.member_id, func.count())
                                 .group_by(Coupon.member_id)).all())
    assert per_member == dict.fromkeys(members, 1)
    assert sum(r.issued for r in results) == 600 == sum(r.over_limit for r in results)
