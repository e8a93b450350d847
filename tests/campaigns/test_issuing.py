"""Issuing a campaign's coupons: holdout, planning, chunks, idempotency, budget, contact limit,
explanations and the delivery hand-off (docs/CAMPAIGNS.md, "Issuing at scale")."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import func, literal, select, union_all

from loyalty.campaigns.issuing import (
    holdout_bucket,
    holdout_bucket_sql,
    issue_chunk,
    plan_run,
    run_progress,
)
from loyalty.campaigns.models import Campaign, CampaignRun, CampaignTarget, TargetOutcome
from loyalty.coupons.codes import is_valid_code, new_codes
from loyalty.coupons.models import Coupon, CouponStatus, OfferKind
from loyalty.db import INT32_MAX, unit_of_work, utcnow
from loyalty.members.models import Member
from loyalty.messaging.models import Message
from loyalty.outbox.models import OutboxMessage
from tests.campaigns.helpers import RULE, add_members, audience_of, make_campaign

# --- holdout ---------------------------------------------------------------------------------


def test_the_holdout_is_about_its_share_of_members_whatever_their_ids():
    ids = range(1, 10_001)
    held = [m for m in ids if holdout_bucket(7, m) < 10]
    assert 900 <= len(held) <= 1100
    # Neither parity nor position matters: each half and each block holds its share.
    assert 430 <= sum(1 for m in held if m % 2 == 0) <= 570
    assert 430 <= sum(1 for m in held if m % 2 == 1) <= 570
    for block in range(10):
        assert 60 <= sum(1 for m in held if block * 1000 < m <= (block + 1) * 1000) <= 140
    # Sparse ids (a big retailer's, every 7919th) too.
    sparse = [m * 7919 for m in range(1, 10_001)]
    assert 900 <= sum(1 for m in sparse if holdout_bucket(7, m) < 10) <= 1100
    # Every bucket is used about equally (100 per bucket expected).
    buckets = Counter(holdout_bucket(7, m) for m in ids)
    assert len(buckets) == 100 and min(buckets.values()) >= 60 and max(buckets.values()) <= 140


def test_the_holdout_is_stable_and_differs_between_campaigns():
    ids = range(1, 10_001)
    first = {m for m in ids if holdout_bucket(7, m) < 10}
    assert first == {m for m in ids if holdout_bucket(7, m) < 10}
    other = {m for m in ids if holdout_bucket(8, m) < 10}
    # Independent campaigns share about 10% x 10% of members (100 expected).
    assert 50 <= len(first & other) <= 160


def test_the_sql_holdout_equals_the_python_one(db):
    pairs = [(c, m) for c in (1, 2, 9_999) for m in range(1, 400)]
    pairs += [(INT32_MAX, INT32_MAX), (1, INT32_MAX), (INT32_MAX, 1), (123_456, 2_000_000_000)]
    selects = [select(literal(c).label("c"), literal(m).label("m")) for c, m in pairs]
    # In chunks: SQLite limits compound selects to 500 terms.
    got = []
    for i in range(0, len(selects), 400):
        ids = union_all(*selects[i:i + 400]).subquery()
        got += db.execute(select(ids.c.c, ids.c.m, holdout_bucket_sql(ids.c.c, ids.c.m))).all()
    assert sorted((c, m, b) for c, m, b in got) == sorted(
        (c, m, holdout_bucket(c, m)) for c, m in pairs)


# --- planning --------------------------------------------------------------------------------


def test_plan_run_writes_every_member_once_with_holdout_chunk_and_explanation(db):
    members = add_members(db, 250, language="ar")
    campaign = make_campaign(db, holdout_percent=20)
    run = plan_run(db, campaign, "launch", audience_of(members), chunk_size=100)
    db.commit()
    targets = db.scalars(select(CampaignTarget).where(CampaignTarget.run_id == run.id)
                         .order_by(CampaignTarget.member_id)).all()
    assert [t.member_id for t in targets] == members
    assert [t.chunk for t in targets] == [i // 100 for i in range(250)]
    for t in targets:
        held = holdout_bucket(campaign.id, t.member_id) < 20
        assert t.holdout is held
        assert t.outcome == (TargetOutcome.HOLDOUT if held else TargetOutcome.PENDING)
        assert t.explanation == {"kind": "targeted", "rule": RULE,
                                 "values": {"language": "ar", "birth_date": None}}
    assert (run.targets, run.chunks) == (250, 3)
    assert run.holdout == sum(t.holdout for t in targets) and 20 <= run.holdout <= 80
    assert db.get(Campaign, campaign.id).frozen_at is not None


def test_planning_again_returns_the_run_already_planned(db):
    members = add_members(db, 30)
    campaign = make_campaign(db)
    first = plan_run(db, campaign, "launch", audience_of(members))
    db.commit()
    more = members + add_members(db, 10)  # the audience grew: the run does not
    again = plan_run(db, campaign, "launch", audience_of(more))
    db.commit()
    assert again.id == first.id
    assert db.scalar(select(func.count()).select_from(CampaignTarget)) == 30
    assert db.scalar(select(func.count()).select_from(CampaignRun)) == 1


# --- issuing ---------------------------------------------------------------------------------


def _coupons(session, campaign_id: int) -> list[Coupon]:
    return list(session.scalars(select(Coupon).where(Coupon.campaign_id == campaign_id)
                                .order_by(Coupon.member_id)))


def _planned(db, members: list[int], chunk_size: int = 50, **campaign_fields) -> tuple[int, int]:
    campaign = make_campaign(db, **campaign_fields)
    run = plan_run(db, campaign, "launch", audience_of(members), chunk_size=chunk_size)
    db.commit()
    return campaign.id, run.id


def test_a_chunk_issues_one_coupon_per_treated_member_with_the_offer_and_explanation(
    db, sessions
):
    members = add_members(db, 120, birth_date=dt.date(1990, 5, 17))
    campaign_id, run_id = _planned(db, members, holdout_percent=25,
                                   offer={"kind": "percent_off", "percent": 15},
                                   coupon_valid_days=14)
    before = utcnow().replace(microsecond=0)
    with unit_of_work(sessions) as s:
        counts = issue_chunk(s, run_id, 0)
    targets = {t.member_id: t for t in db.scalars(
        select(CampaignTarget).where(CampaignTarget.run_id == run_id, CampaignTarget.chunk == 0))}
    treated = sorted(m for m, t in targets.items() if not t.holdout)
    coupons = _coupons(db, campaign_id)
    assert [c.member_id for c in coupons] == treated
    assert counts.issued == len(treated) and counts.over_budget == counts.over_limit == 0
    for coupon in coupons:
        assert is_valid_code(coupon.code)
        assert (coupon.kind, coupon.percent, coupon.status) == (
            OfferKind.PERCENT_OFF, 15, CouponStatus.ISSUED)
        assert coupon.occasion == "launch"
        assert coupon.valid_from >= before
        assert coupon.valid_to - coupon.valid_from == dt.timedelta(days=14)
        assert coupon.explanation == targets[coupon.member_id].explanation
        assert coupon.explanation["values"]["birth_date"] == "1990-05-17"
        assert targets[coupon.member_id].outcome == TargetOutcome.ISSUED
    assert all(t.outcome == TargetOutcome.HOLDOUT for t in targets.values() if t.holdout)
    # The other chunks are untouched.
    assert db.scalar(select(func.count()).select_from(CampaignTarget).where(
        CampaignTarget.run_id == run_id, CampaignTarget.chunk > 0,
        CampaignTarget.outcome != TargetOutcome.PENDING, ~CampaignTarget.holdout)) == 0


def test_a_points_multiplier_offer_issues_coupons_carrying_the_multiplier(db, sessions):
    # Issuing writes coupon rows column by column: a new offer field must reach them, or the
    # coupons would give nothing.
    members = add_members(db, 40, birth_date=dt.date(1990, 5, 17))
    campaign_id, run_id = _planned(db, members, holdout_percent=0,
                                   offer={"kind": "points_multiplier", "multiplier": 3})
    with unit_of_work(sessions) as s:
        counts = issue_chunk(s, run_id, 0)
    coupons = _coupons(db, campaign_id)
    assert counts.issued == len(coupons) > 0
    assert {(c.kind, c.multiplier) for c in coupons} == {(OfferKind.POINTS_MULTIPLIER, 3)}


def test_issuing_a_chunk_again_issues_nothing_more_and_queues_no_message_twice(db, sessions):
    members = add_members(db, 80)
    campaign_id, run_id = _planned(db, members, chunk_size=80, channel="wallet")
    with unit_of_work(sessions) as s:
        first = issue_chunk(s, run_id, 0)
    codes = {c.member_id: c.code for c in _coupons(db, campaign_id)}
    db.commit()  # SQLite: a reading session holds the write lock (BEGIN IMMEDIATE)
    with unit_of_work(sessions) as s:
        second = issue_chunk(s, run_id, 0)
    db.expire_all()
    assert first.issued == len(codes) > 60 and first.run_done
    assert (second.issued, second.over_budget, second.over_limit) == (0, 0, 0)
    assert {c.member_id: c.code for c in _coupons(db, campaign_id)} == codes
    messages = db.scalars(select(Message)).all()
    assert sorted(m.member_id for m in messages) == sorted(codes)
    assert {m.idempotency_key for m in messages} == {f"coupon_offer:campaign:{campaign_id}:launch"}
    assert {(m.channel, m.status) for m in messages} == {("wallet", "queued")}
    assert messages[0].context["code"] == codes[messages[0].member_id]
    batches = db.scalars(select(OutboxMessage).where(
        OutboxMessage.task_name == "messaging.deliver_batch")).all()
    assert len(batches) == 1
    assert sorted(batches[0].payload["message_ids"]) == sorted(m.id for m in messages)


def test_the_whole_run_issues_every_treated_member_exactly_once_and_ends(db, sessions):
    members = add_members(db, 230)
    campaign_id, run_id = _planned(db, members, chunk_size=50)
    for chunk in (4, 0, 2, 1, 3, 2):  # any order, one twice
        with unit_of_work(sessions) as s:
            issue_chunk(s, run_id, chunk)
    db.expire_all()
    progress = run_progress(db, run_id)
    treated = progress.targets - progress.holdout
    assert (progress.status, progress.chunks_done, progress.chunks_total) == ("done", 5, 5)
    assert (progress.issued, progress.pending, progress.targets) == (treated, 0, 230)
    coupons = _coupons(db, campaign_id)
    assert len(coupons) == treated == len({c.member_id for c in coupons})
    held = {t.member_id for t in db.scalars(select(CampaignTarget).where(
        CampaignTarget.holdout.is_(True)))}
    assert held and not held & {c.member_id for c in coupons}


def test_progress_counts_chunks_and_outcomes_as_they_go(db, sessions):
    members = add_members(db, 100)
    _campaign_id, run_id = _planned(db, members, chunk_size=25, holdout_percent=0)
    progress = run_progress(db, run_id)
    assert (progress.chunks_done, progress.chunks_total, progress.pending) == (0, 4, 100)
    db.commit()
    with unit_of_work(sessions) as s:
        issue_chunk(s, run_id, 1)
    db.expire_all()
    progress = run_progress(db, run_id)
    assert (progress.chunks_done, progress.issued, progress.pending, progress.status) == (
        1, 25, 75, "planned")
    assert progress.as_dict()["holdout"] == 0


# --- budget and contact limit ----------------------------------------------------------------


def test_issuing_stops_before_the_budget_is_crossed(db, sessions):
    members = add_members(db, 100)
    # 37 coupons of 250 fit 9,300 (with 50 left over).
    campaign_id, run_id = _planned(db, members, chunk_size=20, holdout_percent=0,
                                   budget_minor=9_300, cost_per_coupon_minor=250)
    for chunk in range(5):
        with unit_of_work(sessions) as s:
            issue_chunk(s, run_id, chunk)
    db.expire_all()
    campaign = db.get(Campaign, campaign_id)
    assert campaign.committed_minor == 37 * 250 <= campaign.budget_minor
    assert len(_coupons(db, campaign_id)) == 37
    progress = run_progress(db, run_id)
    assert (progress.issued, progress.over_budget, progress.status) == (37, 63, "done")
    # The first members by chunk and id got theirs; the rest are over budget.
    issued = sorted(c.member_id for c in _coupons(db, campaign_id))
    assert issued == members[:37]


def test_the_contact_limit_counts_coupons_of_every_campaign_within_its_days(db, sessions):
    members = add_members(db, 6)
    earlier = make_campaign(db, name="Earlier")
    long_ago = utcnow() - dt.timedelta(days=30)
    for member_id, issued_at in ((members[0], utcnow()), (members[1], utcnow()),
                                 (members[1], utcnow()), (members[2], long_ago),
                                 (members[2], long_ago)):
        db.add(Coupon(code=new_codes(1)[0], member_id=member_id, campaign_id=earlier.id,
                      kind=OfferKind.PERCENT_OFF, percent=5, valid_from=issued_at,
                      valid_to=issued_at + dt.timedelta(days=60), issued_at=issued_at,
                      issued_by_staff_id=None))
    # A coupon given by hand (no campaign) does not count.
    db.add(Coupon(code=new_codes(1)[0], member_id=members[3], kind=OfferKind.PERCENT_OFF,
                  percent=5, valid_from=utcnow(), valid_to=utcnow() + dt.timedelta(days=9),
                  issued_by_staff_id=None))
    db.commit()
    campaign_id, run_id = _planned(db, members, holdout_percent=0, member_limit_count=2,
                                   member_limit_days=7)
    with unit_of_work(sessions) as s:
        counts = issue_chunk(s, run_id, 0)
    outcomes = dict(db.execute(select(CampaignTarget.member_id, CampaignTarget.outcome)
                               .where(CampaignTarget.run_id == run_id)).all())
    assert outcomes[members[1]] == TargetOutcome.OVER_LIMIT  # two this week
    assert [outcomes[m] for m in (members[0], *members[2:])] == [TargetOutcome.ISSUED] * 5
    assert (counts.issued, counts.over_limit) == (5, 1)
    assert members[1] not in {c.member_id for c in _coupons(db, campaign_id)}


def test_an_unknown_run_is_not_found(db):
    from loyalty.errors import NotFound

    with pytest.raises(NotFound):
        issue_chunk(db, 999, 0)
    with pytest.raises(NotFound):
        run_progress(db, 999)


def test_members_without_a_language_catalogue_get_english_and_others_their_own(db, sessions):
    members = add_members(db, 3)
    for member_id, language in zip(members, ("fa-IR", "ar", "de"), strict=True):
        db.get(Member, member_id).language = language
    db.commit()
    _campaign_id, run_id = _planned(db, members, holdout_percent=0, channel="wallet")
    with unit_of_work(sessions) as s:
        issue_chunk(s, run_id, 0)
    languages = dict(db.execute(select(Message.member_id, Message.language)).all())
    assert [languages[m] for m in members] == ["fa", "ar", "en"]


def test_runs_that_stopped_moving_are_found_and_their_chunks_queued_again(db, sessions):
    from loyalty.campaigns.issuing import resume_run, stalled_runs

    members = add_members(db, 60)
    long_ago = utcnow() - dt.timedelta(minutes=30)
    stuck = plan_run(db, make_campaign(db, name="Stuck"), "launch", audience_of(members),
                     chunk_size=20, now=long_ago)
    plan_run(db, make_campaign(db, name="Fresh"), "launch", audience_of(members),  # just planned
                     chunk_size=20)
    moving = plan_run(db, make_campaign(db, name="Moving", holdout_percent=0), "launch",
                      audience_of(members), chunk_size=20, now=long_ago)
    db.commit()
    with unit_of_work(sessions) as s:
        issue_chunk(s, moving.id, 0)  # a coupon a moment ago: still moving
    quiet = dt.timedelta(minutes=5)
    assert stalled_runs(db, utcnow(), quiet) == [stuck.id]
    before = db.scalar(select(func.count()).select_from(OutboxMessage))
    assert resume_run(db, stuck.id) == [0, 1, 2]
    payloads = db.scalars(select(OutboxMessage.payload).where(OutboxMessage.id > before))
    assert sorted(p["chunk"] for p in payloads) == [0, 1, 2]
    # Once everyone is issued, nothing is stalled: the run is done.
    db.commit()
    for chunk in range(3):
        with unit_of_work(sessions) as s:
            issue_chunk(s, stuck.id, chunk)
    db.expire_all()
    assert stuck.id not in stalled_runs(db, utcnow() + dt.timedelta(hours=1), quiet)


def test_a_cancelled_campaigns_queued_chunks_issue_nothing_and_are_not_resumed(db, sessions):
    from loyalty.campaigns.issuing import stalled_runs
    from loyalty.campaigns.models import CampaignStatus

    members = add_members(db, 10)
    campaign = make_campaign(db, holdout_percent=0)
    run = plan_run(db, campaign, "launch", audience_of(members),
                   now=utcnow() - dt.timedelta(hours=1))
    campaign.status = CampaignStatus.CANCELLED
    db.commit()
    with unit_of_work(sessions) as s:
        counts = issue_chunk(s, run.id, 0)
    assert (counts.issued, counts.run_done) == (0, False)
    assert _coupons(db, campaign.id) == []
    assert stalled_runs(db, utcnow(), dt.timedelta(minutes=5)) == []
