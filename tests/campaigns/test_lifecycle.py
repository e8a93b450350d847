"""draft -> scheduled -> running -> ended, and cancelled: the tick under beat moves campaigns on
their dates and starts their due runs, each occasion once (issue 9, section 4)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from loyalty.campaigns.issuing import issue_chunk, plan_run
from loyalty.campaigns.models import Campaign, CampaignRun
from loyalty.campaigns.schedule import BEAT_SCHEDULE, TICK, tick_app
from loyalty.coupons.models import Coupon
from loyalty.db import utcnow
from loyalty.members.models import Member
from loyalty.worker import BEAT_SCHEDULE as WORKER_SCHEDULE
from tests.campaigns.definitions import body
from tests.factories import StaffDesk, make_store

API = "/api/v1/campaigns"


def _members(db, count: int, **fields) -> list[int]:  # type: ignore[no-untyped-def]
    people = [Member(name=f"Member {i}", **fields) for i in range(count)]
    db.add_all(people)
    db.commit()
    return [p.id for p in people]


def _coupons(db, campaign_id: int) -> dict[int, str]:  # type: ignore[no-untyped-def]
    rows = db.execute(select(Coupon.member_id, Coupon.occasion)
                      .where(Coupon.campaign_id == campaign_id)).all()
    db.rollback()
    return dict(rows)


def _runs(db, campaign_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    occasions = db.scalars(select(CampaignRun.occasion).where(
        CampaignRun.campaign_id == campaign_id).order_by(CampaignRun.id)).all()
    db.rollback()
    return list(occasions)


def _status(db, campaign_id: int) -> str:  # type: ignore[no-untyped-def]
    db.expire_all()
    status = db.get(Campaign, campaign_id).status.value
    db.rollback()
    return status


EVERYONE = {"or": [{"consent": "sms"}, {"not": {"consent": "sms"}}]}


def test_a_campaign_whose_start_has_come_runs_at_launch_with_its_holdout(client, db):
    desk = StaffDesk(db, make_store(db))
    marketer = desk("marketer")
    members = _members(db, 40)
    now = utcnow()
    made = client.post(API, json=body(
        audience=EVERYONE, holdout_percent=50, budget_minor=None,
        starts_at=(now - dt.timedelta(hours=1)).isoformat(),
        ends_at=(now + dt.timedelta(days=7)).isoformat()), headers=marketer).json
    launched = client.post(f"{API}/{made['id']}/launch", headers=marketer)
    assert launched.status_code == 200, launched.json
    assert launched.json["status"] == "running"

    runs = client.get(f"{API}/{made['id']}/runs", headers=marketer).json
    assert [r["occasion"] for r in runs] == ["launch"]
    outcomes = runs[0]["outcomes"]
    assert outcomes["issued"] + outcomes["holdout"] == len(members) == runs[0]["targets"]
    assert 0 < outcomes["holdout"] < len(members)
    coupons = _coupons(db, made["id"])
    assert len(coupons) == outcomes["issued"] and set(coupons.values()) == {"launch"}
    shown = client.get(f"{API}/{made['id']}", headers=marketer).json
    assert (shown["reached"], shown["held_out"], shown["runs"]) == (
        outcomes["issued"], outcomes["holdout"], 1)
    assert shown["frozen_at"] is not None

    # a one-off runs once, however often the clock ticks
    tick_app(client.application, now + dt.timedelta(days=1))
    assert _runs(db, made["id"]) == ["launch"]
    frozen = client.patch(f"{API}/{made['id']}", json={"name": "x"}, headers=marketer)
    assert frozen.status_code == 409 and frozen.json["code"] == "campaign_frozen"


def test_the_tick_starts_a_scheduled_campaign_and_ends_it(client, db, app):
    desk = StaffDesk(db, make_store(db))
    admin = desk("admin")
    _members(db, 3)
    now = utcnow()
    start, end = now + dt.timedelta(days=1), now + dt.timedelta(days=3)
    made = client.post(API, json=body(audience=EVERYONE, holdout_percent=0,
                                      starts_at=start.isoformat(), ends_at=end.isoformat()),
                       headers=admin).json
    cid = made["id"]
    assert client.post(f"{API}/{cid}/launch", headers=admin).json["status"] == "scheduled"
    assert tick_app(app, now) == 0 and _status(db, cid) == "scheduled"
    assert tick_app(app, start) == 1 and _status(db, cid) == "running"
    assert len(_coupons(db, cid)) == 3
    assert tick_app(app, start + dt.timedelta(hours=1)) == 0
    assert tick_app(app, end) == 0 and _status(db, cid) == "ended"
    assert _runs(db, cid) == ["launch"]
    late = client.post(f"{API}/{cid}/cancel", headers=admin)
    assert late.status_code == 409 and late.json["code"] == "campaign_not_active"


def test_a_daily_campaign_runs_once_a_day_until_cancelled(client, db, app):
    desk = StaffDesk(db, make_store(db))
    admin = desk("admin")
    _members(db, 2)
    now = utcnow().replace(hour=8, minute=0, second=0, microsecond=0)
    made = client.post(API, json=body(audience=EVERYONE, holdout_percent=0, recurrence="daily",
                                      starts_at=(now + dt.timedelta(days=1)).isoformat(),
                                      ends_at=(now + dt.timedelta(days=10)).isoformat()),
                       headers=admin).json
    cid = made["id"]
    client.post(f"{API}/{cid}/launch", headers=admin)
    day1, day2 = now + dt.timedelta(days=1), now + dt.timedelta(days=2)
    tick_app(app, day1)
    tick_app(app, day1 + dt.timedelta(hours=3))
    tick_app(app, day2)
    assert _runs(db, cid) == [day1.date().isoformat(), day2.date().isoformat()]
    assert client.post(f"{API}/{cid}/cancel", headers=admin).json["status"] == "cancelled"
    tick_app(app, now + dt.timedelta(days=3))
    assert _runs(db, cid) == [day1.date().isoformat(), day2.date().isoformat()]
    assert _status(db, cid) == "cancelled"


def test_the_birthday_automation_greets_each_member_once_a_year(client, db, app):
    desk = StaffDesk(db, make_store(db))
    admin = desk("admin")
    now = utcnow()
    today = now.date()
    born = today.replace(year=1990) if (today.month, today.day) != (2, 29) else dt.date(1992,
                                                                                       2, 29)
    [birthday_person] = _members(db, 1, birth_date=born)
    _members(db, 1, birth_date=born + dt.timedelta(days=1))
    made = client.post(API, json=body(
        name="Birthdays", kind="birthday", audience=None, holdout_percent=0,
        offer={"kind": "amount_off", "amount_minor": 1000},
        starts_at=(now - dt.timedelta(days=1)).isoformat(),
        ends_at=(now + dt.timedelta(days=400)).isoformat()), headers=admin).json
    launched = client.post(f"{API}/{made['id']}/launch", headers=admin).json
    assert launched["status"] == "running" and launched["recurrence"] == "daily"
    tick_app(app, now + dt.timedelta(minutes=5))  # the same day again: nothing new
    occasion = f"birthday:{today.year}@{today.isoformat()}"
    assert _runs(db, made["id"]) == [occasion]
    assert _coupons(db, made["id"]) == {birthday_person: f"birthday:{today.year}"}
    # Even a run the audience did not guard (another day, the same member) issues no second
    # coupon that year: the coupon's unique key holds (campaign, member, "birthday:<year>").
    campaign = db.get(Campaign, made["id"])
    again = plan_run(db, campaign, f"birthday:{today.year}@{(today + dt.timedelta(days=1))}",
                     select(Member.id.label("member_id")).where(Member.id == birthday_person))
    for chunk in range(again.chunks):
        issue_chunk(db, again.id, chunk)
    db.commit()
    assert _coupons(db, made["id"]) == {birthday_person: f"birthday:{today.year}"}
    code = db.scalar(select(Coupon.code).where(Coupon.campaign_id == made["id"]))
    db.rollback()
    coupon = client.get(f"/api/v1/coupons/{code}", headers=admin).json
    assert coupon["explanation"]["kind"] == "birthday"
    assert coupon["why"] == "Happy birthday! This is our gift for your birthday."


def test_the_tick_is_a_named_task_on_the_beat():
    assert BEAT_SCHEDULE["campaigns-tick"]["task"] == TICK == "campaigns.tick"
    assert WORKER_SCHEDULE["campaigns-tick"]["task"] == TICK


def test_the_tick_task_runs_in_the_worker(app, db):
    """The task as Celery runs it (in-process here, as the embedded default does)."""
    celery = app.extensions["celery"]
    assert TICK in celery.tasks
    assert celery.tasks[TICK].apply().get() == 0
    assert db.scalar(select(func.count()).select_from(CampaignRun)) == 0


def test_occasions_name_each_run():
    from loyalty.campaigns.models import CampaignKind
    from loyalty.campaigns.occasions import coupon_occasion, run_occasion

    day = dt.date(2027, 1, 3)  # ISO week 53 of 2026
    assert run_occasion(CampaignKind.TARGETED, None, day) == "launch"
    assert run_occasion(CampaignKind.WIN_BACK, "daily", day) == "2027-01-03"
    assert run_occasion(CampaignKind.UP_SELL, "weekly", day) == "2026-W53"
    assert run_occasion(CampaignKind.BIRTHDAY, "daily", day) == "birthday:2027@2027-01-03"
    assert run_occasion(CampaignKind.WELCOME, "daily", day) == "welcome@2027-01-03"
    assert coupon_occasion("anniversary:2027@2027-01-03") == "anniversary:2027"
    assert coupon_occasion("2027-01-03") == "2027-01-03"


def test_every_kind_issues_its_coupon_with_its_explanation(client, db):
    """Each kind's audience through issuing's real plan_run and issue_chunk, on both databases:
    the labelled values land on the coupon and the member reads why in their language."""
    from loyalty.catalog.models import Category
    from loyalty.insight.models import MemberInsight
    from tests.insight.helpers import add_baskets

    admin = StaffDesk(db, make_store(db))("admin")
    now = utcnow()
    today = now.date()
    if (today.month, today.day) == (2, 29):
        pytest.skip("a leap day: the birthday and anniversary dates move")
    joined = now.replace(year=now.year - 1)
    dairy, bakery = Category(code="dairy", name="Dairy"), Category(code="bakery", name="Bakery")
    person = Member(name="Everyone", language="fa", birth_date=today.replace(year=1990),
                    created_at=joined)
    db.add_all([dairy, bakery, person])
    db.flush()
    db.add(MemberInsight(member_id=person.id, as_of=today, first_purchase_at=joined,
                         last_purchase_at=joined, recency_days=120, frequency=3,
                         monetary_minor=27000, average_basket_minor=9000, p_alive=0.2))
    add_baskets(db, make_store(db).id, [(person.id, now - dt.timedelta(days=120),
                                         [("MILK", dairy.id, 9000)])])
    db.commit()
    percent = {"kind": "percent_off", "percent": 10}
    kinds = {
        "win_back": ({}, percent, {"recency_days": 120, "frequency": 3}),
        "retention": ({}, percent, {"p_alive": 0.2, "recency_days": 120}),
        "cross_sell": ({"from_category_id": dairy.id}, {**percent, "category_id": bakery.id},
                       {"bought_category": "Dairy", "offer_category": "Bakery"}),
        "up_sell": ({}, {**percent, "min_spend_minor": 10000},
                    {"average_basket_minor": 9000, "min_spend_minor": 10000,
                     "currency": "AED"}),
        "birthday": ({}, percent, {"birthday": today.strftime("%m-%d")}),
        "anniversary": ({}, percent, {"member_since": joined.date().isoformat(), "years": 1}),
        "welcome": ({}, percent, {"joined_after": (joined - dt.timedelta(days=1)).date()
                                  .isoformat()}),
    }
    for kind, (parameters, offer, values) in kinds.items():
        made = client.post(API, json=body(
            name=kind, kind=kind, audience=None, parameters=parameters, offer=offer,
            holdout_percent=0, starts_at=(joined - dt.timedelta(days=1)).isoformat(),
            ends_at=(now + dt.timedelta(days=30)).isoformat()), headers=admin)
        assert made.status_code == 201, (kind, made.json)
        launched = client.post(f"{API}/{made.json['id']}/launch", headers=admin)
        assert launched.status_code == 200, (kind, launched.json)
        code = db.scalar(select(Coupon.code).where(Coupon.campaign_id == made.json["id"]))
        db.rollback()
        assert code is not None, kind
        coupon = client.get(f"/api/v1/coupons/{code}", headers=admin).json
        assert coupon["explanation"]["kind"] == kind
        assert coupon["explanation"]["values"] == values, kind
        assert re.search(r"[\u0600-\u06FF]", coupon["why"]), kind


def test_cancel_stops_issuing_of_chunks_already_queued(client, db):
    from loyalty.campaigns.audience import audience_for
    from loyalty.campaigns.issuing import issue_chunk, plan_run

    admin = StaffDesk(db, make_store(db))("admin")
    _members(db, 3)
    now = utcnow()
    made = client.post(API, json=body(audience=EVERYONE, holdout_percent=0,
                                      starts_at=(now + dt.timedelta(days=1)).isoformat(),
                                      ends_at=(now + dt.timedelta(days=5)).isoformat()),
                       headers=admin).json
    client.post(f"{API}/{made['id']}/launch", headers=admin)
    campaign = db.get(Campaign, made["id"])
    run = plan_run(db, campaign, "launch", audience_for(db, campaign, now))  # a chunk queued
    db.commit()
    assert client.post(f"{API}/{made['id']}/cancel", headers=admin).status_code == 200
    db.expire_all()
    issue_chunk(db, run.id, 0)
    db.commit()
    assert _coupons(db, made["id"]) == {}
