"""Each kind's audience, as the one select issuing plans a run from: who it selects and the
values it labels for the explanation (issue 9, section 4)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from loyalty.campaigns import services
from loyalty.campaigns.audience import audience_for
from loyalty.campaigns.models import Campaign, CampaignRun, CampaignTarget, TargetOutcome
from loyalty.errors import InvalidInput
from loyalty.insight.affinity import rebuild_affinities
from loyalty.insight.models import MemberInsight
from loyalty.members.models import Member
from loyalty.tiers.models import Tier
from tests.campaigns.definitions import categories
from tests.factories import make_store
from tests.insight.helpers import add_baskets

NOW = dt.datetime(2027, 3, 14, 9, tzinfo=dt.UTC)
_names = itertools.count(1)


def member(db: Session, name: str, **kw: Any) -> int:
    person = Member(name=name, **kw)
    db.add(person)
    db.flush()
    return person.id


def insight(db: Session, member_id: int, **values: Any) -> None:
    row = {"member_id": member_id, "as_of": NOW.date(), "first_purchase_at": NOW,
           "last_purchase_at": NOW, "recency_days": 1, "frequency": 1, "monetary_minor": 0,
           "average_basket_minor": 0, **values}
    db.execute(insert(MemberInsight), [row])


def campaign(db: Session, kind: str, offer: dict | None = None, **data: Any) -> Campaign:
    return services.create_campaign(db, {
        "name": f"{kind} {next(_names)}", "kind": kind, "currency": "AED",
        "offer": offer or {"kind": "percent_off", "percent": 10},
        "starts_at": NOW - dt.timedelta(days=30), "ends_at": NOW + dt.timedelta(days=60),
        **data}, actor="test", now=NOW)


def selected(db: Session, c: Campaign, now: dt.datetime = NOW) -> dict[int, dict[str, Any]]:
    rows = db.execute(audience_for(db, c, now)).mappings().all()
    return {row["member_id"]: {k: v for k, v in row.items() if k != "member_id"}
            for row in rows}


def test_win_back_is_the_lapsed_who_had_come_back_before(db):
    lapsed = member(db, "lapsed")
    insight(db, lapsed, recency_days=120, frequency=3)
    edge = member(db, "edge")
    insight(db, edge, recency_days=90, frequency=2)
    once = member(db, "once")
    insight(db, once, recency_days=200, frequency=1)
    recent = member(db, "recent")
    insight(db, recent, recency_days=30, frequency=9)
    member(db, "never bought")

    default = campaign(db, "win_back")
    assert selected(db, default) == {lapsed: {"recency_days": 120, "frequency": 3},
                                     edge: {"recency_days": 90, "frequency": 2}}
    stricter = campaign(db, "win_back", parameters={"lapsed_days": 100, "min_visits": 1})
    assert set(selected(db, stricter)) == {lapsed, once}
    # the campaign's own rule narrows the kind's audience
    narrowed = campaign(db, "win_back", audience={"field": "frequency", "op": ">=", "value": 3})
    assert set(selected(db, narrowed)) == {lapsed}


def test_retention_is_the_members_likely_to_leave(db):
    leaving = member(db, "leaving")
    insight(db, leaving, p_alive=0.2, recency_days=40)
    staying = member(db, "staying")
    insight(db, staying, p_alive=0.8)
    unknown = member(db, "no model yet")
    insight(db, unknown, p_alive=None)
    assert selected(db, campaign(db, "retention")) == {
        leaving: {"p_alive": 0.2, "recency_days": 40}}
    assert set(selected(db, campaign(db, "retention", parameters={"p_alive_below": 0.9}))) == {
        leaving, staying}


def _shop(db: Session) -> tuple[dict[str, int], dict[str, int]]:
    cats = categories(db, "dairy", "bakery", "fruit")
    store = make_store(db)
    people = {name: member(db, name) for name in ("dairy only", "both", "fruit only")}
    day = NOW - dt.timedelta(days=3)
    sales = [(people["dairy only"], day, [("MILK", cats["dairy"], 500)]),
             (people["both"], day, [("MILK", cats["dairy"], 500),
                                    ("BREAD", cats["bakery"], 300)]),
             (people["both"], day, [("MILK", cats["dairy"], 500),
                                    ("BREAD", cats["bakery"], 300)]),
             (people["fruit only"], day, [("APPLE", cats["fruit"], 200)])]
    add_baskets(db, store.id, sales)
    return cats, people


def test_cross_sell_offers_the_category_a_member_does_not_buy_yet(db):
    cats, people = _shop(db)
    offer = {"kind": "percent_off", "percent": 15, "category_id": cats["bakery"]}
    named = campaign(db, "cross_sell", offer, parameters={"from_category_id": cats["dairy"]})
    expected = {people["dairy only"]: {"bought_category": "Dairy", "offer_category": "Bakery"}}
    assert selected(db, named) == expected

    # without a named category, the affinities say what sells with the offer's
    from_affinities = campaign(db, "cross_sell", offer)
    with pytest.raises(InvalidInput, match="no category sells with"):
        audience_for(db, from_affinities, NOW)
    rebuild_affinities(db, NOW.date(), min_support=0.1)
    assert selected(db, from_affinities) == expected


def test_up_sell_reaches_members_just_below_the_threshold(db):
    near = member(db, "near")
    insight(db, near, average_basket_minor=9000)
    far = member(db, "far")
    insight(db, far, average_basket_minor=8000)
    above = member(db, "above")
    insight(db, above, average_basket_minor=10000)
    offer = {"kind": "bonus_points", "bonus_points": 100, "min_spend_minor": 10000}
    assert selected(db, campaign(db, "up_sell", offer)) == {near: {
        "average_basket_minor": 9000, "min_spend_minor": 10000, "currency": "AED"}}
    wider = campaign(db, "up_sell", offer, parameters={"stretch_percent": 130})
    assert set(selected(db, wider)) == {near, far}


def _at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=6, tzinfo=dt.UTC)


def test_birthdays_today_and_29_february_in_other_years(db):
    today = member(db, "today", birth_date=dt.date(1990, 3, 14))
    member(db, "tomorrow", birth_date=dt.date(1990, 3, 15))
    leapling = member(db, "leapling", birth_date=dt.date(2000, 2, 29))
    feb28 = member(db, "feb 28", birth_date=dt.date(1985, 2, 28))
    member(db, "no birth date")
    bday = campaign(db, "birthday")
    assert selected(db, bday) == {today: {"birthday": "03-14"}}
    assert set(selected(db, bday, _at("2027-02-28"))) == {leapling, feb28}
    assert set(selected(db, bday, _at("2028-02-28"))) == {feb28}  # 2028 has a 29th
    assert set(selected(db, bday, _at("2028-02-29"))) == {leapling}


def test_an_automation_reaches_a_member_once_per_occasion_per_year(db):
    person = member(db, "once a year", birth_date=dt.date(1990, 3, 14))
    bday = campaign(db, "birthday")
    run = CampaignRun(campaign_id=bday.id, occasion="birthday:2027@2027-03-14")
    db.add(run)
    db.flush()
    db.add(CampaignTarget(run_id=run.id, member_id=person, holdout=True, chunk=0,
                          outcome=TargetOutcome.HOLDOUT))
    db.flush()
    assert selected(db, bday) == {}  # already in this year's run (held out or not)
    db.get(Member, person).birth_date = dt.date(1990, 7, 1)  # a corrected birth date
    db.flush()
    assert selected(db, bday, _at("2027-07-01")) == {}
    assert set(selected(db, bday, _at("2028-07-01"))) == {person}


def test_first_anniversary_is_one_year_after_joining(db):
    year_ago = member(db, "a year ago", created_at=dt.datetime(2026, 3, 14, 22, tzinfo=dt.UTC))
    member(db, "a day more", created_at=dt.datetime(2026, 3, 13, 23, 59, tzinfo=dt.UTC))
    member(db, "two years", created_at=dt.datetime(2025, 3, 14, 12, tzinfo=dt.UTC))
    leap = member(db, "leap day", created_at=dt.datetime(2024, 2, 29, 12, tzinfo=dt.UTC))
    thanks = campaign(db, "anniversary")
    assert selected(db, thanks) == {year_ago: {"member_since": "2026-03-14", "years": 1}}
    assert set(selected(db, thanks, _at("2025-02-28"))) == {leap}
    assert set(selected(db, thanks, _at("2025-03-01"))) == set()


def test_welcome_greets_each_new_member_once(db):
    start = NOW - dt.timedelta(days=30)
    member(db, "before", created_at=start - dt.timedelta(days=1))
    new = member(db, "new", created_at=NOW - dt.timedelta(days=2))
    member(db, "after now", created_at=NOW + dt.timedelta(hours=1))
    hello = campaign(db, "welcome")
    assert set(selected(db, hello)) == {new}
    run = CampaignRun(campaign_id=hello.id, occasion="welcome@2027-03-13")
    db.add(run)
    db.flush()
    db.add(CampaignTarget(run_id=run.id, member_id=new, holdout=False, chunk=0,
                          outcome=TargetOutcome.ISSUED))
    db.flush()
    later = NOW + dt.timedelta(days=1, hours=2)
    assert set(selected(db, hello, later)) == {
        db.scalar(Member.__table__.select().with_only_columns(Member.id)
                  .where(Member.name == "after now"))}


def test_targeted_labels_the_values_its_rule_compares(db):
    gold = Tier(code="gold", name="Gold", rank=1, min_spend_minor=0)
    db.add(gold)
    db.flush()
    champ = member(db, "champ", tier_id=gold.id)
    insight(db, champ, recency_days=3, frequency=12, segment="Champions")
    other = member(db, "other")
    insight(db, other, recency_days=3, frequency=1, segment="New")
    rule = {"and": [{"field": "segment", "op": "=", "value": "Champions"},
                    {"field": "tier", "op": "=", "value": "gold"},
                    {"not": {"field": "recency_days", "op": ">", "value": 30}},
                    {"consent": "sms"}]}
    c = campaign(db, "targeted", audience={"or": [rule, {"field": "frequency", "op": ">",
                                                          "value": 10}]})
    assert selected(db, c) == {champ: {"frequency": 12, "recency_days": 3,
                                       "segment": "Champions", "tier": "gold"}}
