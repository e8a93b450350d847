"""The dry run: who would get what, held out or treated as issuing will split them, and what it
could cost at worst against the budget; before anything is issued, changing nothing (issue 9,
section 4)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select, update

from loyalty.baskets.models import Basket
from loyalty.campaigns.issuing import is_held_out
from loyalty.campaigns.models import CampaignRun, CampaignTarget
from loyalty.catalog.models import Product
from loyalty.coupons.models import Coupon
from loyalty.db import utcnow
from loyalty.insight.models import MemberInsight
from loyalty.members.models import Member
from tests.campaigns.definitions import body, categories
from tests.factories import StaffDesk, invoke_cli, make_store
from tests.insight.helpers import add_baskets

API = "/api/v1/campaigns"


@pytest.fixture
def lapsed(db):  # type: ignore[no-untyped-def]
    """30 lapsed members (win-back audience), in three languages."""
    now = utcnow()
    people = [Member(name=f"Lapsed {i}", language=("en", "ar", "fa")[i % 3]) for i in range(30)]
    db.add_all(people)
    db.flush()
    db.add_all(MemberInsight(member_id=p.id, as_of=now.date(), first_purchase_at=now,
                             last_purchase_at=now, recency_days=100 + i, frequency=3,
                             monetary_minor=0, average_basket_minor=0)
               for i, p in enumerate(people))
    db.commit()
    return [p.id for p in people]


def _counts(db) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    counts = tuple(db.scalar(select(func.count()).select_from(t))
                   for t in (CampaignRun, CampaignTarget, Coupon))
    db.rollback()
    return counts  # type: ignore[return-value]


def _win_back(client, headers, **changes):  # type: ignore[no-untyped-def]
    now = utcnow()
    data = body(name="Come back", kind="win_back", audience=None, holdout_percent=30,
                offer={"kind": "amount_off", "amount_minor": 500}, budget_minor=5000,
                starts_at=(now - dt.timedelta(hours=1)).isoformat(),
                ends_at=(now + dt.timedelta(days=30)).isoformat())
    made = client.post(API, json={**data, **changes}, headers=headers)
    assert made.status_code == 201, made.json
    return made.json["id"]


def test_the_dry_run_splits_the_audience_as_issuing_will_and_changes_nothing(
        client, db, lapsed):
    marketer = StaffDesk(db, make_store(db))("marketer")
    cid = _win_back(client, marketer)
    before = client.get(f"{API}/{cid}", headers=marketer).json
    dry = client.post(f"{API}/{cid}/dry-run", json={"sample": 100}, headers=marketer)
    assert dry.status_code == 200, dry.json
    result = dry.json
    held = {m for m in lapsed if is_held_out(cid, m, 30)}
    assert result["audience"] == 30 and result["held_out"] == len(held)
    assert result["treated"] == 30 - len(held) and 0 < len(held) < 30
    assert result["occasion"] == "launch"
    assert result["cost_per_coupon_minor"] == 500
    assert result["worst_case_minor"] == 500 * result["treated"]
    assert result["budget_minor"] == 5000 and result["coupons_within_budget"] == 10
    assert result["budget_suffices"] is (500 * result["treated"] <= 5000)
    sample = {m["member_id"]: m for m in result["sample"]}
    assert set(sample) == set(lapsed)
    first = sample[lapsed[0]]
    assert first["held_out"] is (lapsed[0] in held)
    assert first["explanation"] == {"kind": "win_back", "rule": None,
                                    "values": {"recency_days": 100, "frequency": 3}}
    assert first["why"] == ("Your last visit was 100 days ago: we would like to see you "
                            "again.")
    assert "120" in sample[lapsed[20]]["why"] and sample[lapsed[1]]["why"] != first["why"]

    assert _counts(db) == (0, 0, 0)
    assert client.get(f"{API}/{cid}", headers=marketer).json == before
    small = client.post(f"{API}/{cid}/dry-run", json={"sample": 2}, headers=marketer).json
    assert [m["member_id"] for m in small["sample"]] == lapsed[:2]
    assert client.post(f"{API}/{cid}/dry-run", json={"sample": 101},
                       headers=marketer).status_code == 422

    # the run then holds out exactly whom the dry run said
    assert client.post(f"{API}/{cid}/launch", headers=marketer).json["status"] == "running"
    run_held = set(db.scalars(select(CampaignTarget.member_id).where(CampaignTarget.holdout)))
    db.rollback()
    assert run_held == held


def test_the_worst_case_of_each_offer(client, db, settings):
    marketer = StaffDesk(db, make_store(db))("marketer")
    cats = categories(db, "dairy")
    db.add(Product(sku="CAKE", name="Cake", category_id=cats["dairy"], price_minor=1250,
                   currency="AED"))
    now = utcnow()
    add_baskets(db, make_store(db).id, [(None, now - dt.timedelta(days=3),
                                         [("CAKE", cats["dairy"], 20000)]),
                                        (None, now - dt.timedelta(days=400),
                                         [("CAKE", cats["dairy"], 90000)])])
    # Points as 1 per AED would give: 200 on the recent basket, 900 on the one too old to count.
    db.execute(update(Basket).values(points_earned=Basket.subtotal_minor // 100))
    db.commit()
    offers = [({"kind": "percent_off", "percent": 10}, None, 2000),  # of the largest basket
              ({"kind": "percent_off", "percent": 10}, {"max_basket_minor": 5000}, 500),
              ({"kind": "free_item", "free_sku": "CAKE"}, None, 1250),
              ({"kind": "bonus_points", "bonus_points": 300}, None,
               300 * settings.point_value_minor),
              # (multiplier - 1) x the most points a recent basket earned, or the parameter's
              ({"kind": "points_multiplier", "multiplier": 3}, None,
               2 * 200 * settings.point_value_minor),
              ({"kind": "points_multiplier", "multiplier": 2, "category_id": cats["dairy"]},
               {"max_basket_points": 50}, 50 * settings.point_value_minor),
              ({"kind": "amount_off", "amount_minor": 700, "category_id": cats["dairy"]}, None,
               700)]
    for n, (offer, parameters, cost) in enumerate(offers):
        made = client.post(API, json=body(name=f"offer {n}", offer=offer,
                                          parameters=parameters), headers=marketer)
        assert made.status_code == 201, made.json
        dry = client.post(f"{API}/{made.json['id']}/dry-run", json={},
                          headers=marketer).json
        assert dry["cost_per_coupon_minor"] == cost, offer
    unknown = client.post(API, json=body(name="x", offer={"kind": "free_item",
                                                          "free_sku": "NOPE"}),
                          headers=marketer)
    assert unknown.status_code == 422 and "NOPE" in unknown.json["detail"]


def test_a_dry_run_that_cannot_build_its_audience_is_a_clear_422(client, db):
    marketer = StaffDesk(db, make_store(db))("marketer")
    cats = categories(db, "dairy", "bakery")
    db.commit()
    made = client.post(API, json=body(name="cross", kind="cross_sell", audience=None, offer={
        "kind": "percent_off", "percent": 10, "category_id": cats["bakery"]}),
        headers=marketer).json
    for action in ("dry-run", "launch"):
        resp = client.post(f"{API}/{made['id']}/{action}", json={}, headers=marketer)
        assert resp.status_code == 422, resp.json
        assert "no category sells with" in resp.json["detail"]
    assert client.get(f"{API}/{made['id']}", headers=marketer).json["status"] == "draft"


def test_the_cli_dry_run_prints_the_same(app, client, db, lapsed):
    marketer = StaffDesk(db, make_store(db))("marketer")
    cid = _win_back(client, marketer)
    api = client.post(f"{API}/{cid}/dry-run", json={"sample": 5}, headers=marketer).json
    printed = invoke_cli(app, ["campaign", "dry-run", str(cid), "--sample", "5", "--json"])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output) == api
    text = invoke_cli(app, ["campaign", "dry-run", str(cid), "--sample", "2"])
    assert text.exit_code == 0, text.output
    assert f"audience 30: {api['treated']} treated, {api['held_out']} held out" in text.output
    assert _counts(db) == (0, 0, 0)
