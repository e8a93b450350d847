"""GET /api/v1/campaigns/<id>/results and ``loyalty campaign results``: treatment against holdout
on a small campaign whose every figure is worked out by hand."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from scipy import stats

from loyalty.coupons.models import OfferKind
from tests.auth.chain import make_chain
from tests.campaigns.results_helpers import basket, issue, make_campaign, plan, redeem
from tests.factories import invoke_cli
from tests.insight.helpers import add_members

PLANNED = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
AS_OF_LATER = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def at(days: float) -> dt.datetime:
    return PLANNED + dt.timedelta(days=days)


@pytest.fixture
def world(db):  # type: ignore[no-untyped-def]
    """Five treated members and three held out, over a 7-day window, in two stores.

    Spend in the window (net of returns), per member:
      treatment: t1 10,000 + 2,000 (other store) = 12,000; t2 6,000 (8,000 with a quarter
      returned... see below); t3 0; t4 3,000; t5 5,000
      holdout: h1 4,000; h2 0; h3 2,000
    """
    chain = make_chain(db)
    home, other = chain.store.id, chain.other.id
    t1, t2, t3, t4, t5, h1, h2, h3 = add_members(db, 8)
    campaign = make_campaign(db, starts_at=PLANNED, attribution_days=7, name="Spring win-back")
    plan(db, campaign, PLANNED, [t1, t2, t3, t4, t5], [h1, h2, h3])
    coupons = {m: issue(db, campaign, m, PLANNED) for m in (t1, t2, t3, t4, t5)}
    bonus = issue(db, campaign, t4, PLANNED, kind=OfferKind.BONUS_POINTS, amount_minor=None,
                  bonus_points=200, occasion="extra")
    # t1: a basket redeeming the campaign's coupon with a hand-issued coupon beside it (the
    # basket's 1,600 of coupon discount is shared: 800 is the campaign's)
    b1 = basket(db, home, t1, at(1), [(1, 10_000)], coupon_discount=1_600)
    redeem(db, coupons[t1], b1, at(1))
    hand = issue(db, campaign, t1, PLANNED, occasion="x")
    hand.campaign_id = None
    db.flush()
    redeem(db, hand, b1, at(1))
    basket(db, other, t1, at(2.5), [(1, 2_000)])
    # t2: four of an item for 8,000, one returned: 6,000 counts
    b2 = basket(db, home, t2, at(3), [(4, 8_000)], coupon_discount=1_000)
    redeem(db, coupons[t2], b2, at(3))
    from sqlalchemy import update

    from loyalty.baskets.models import BasketLine
    db.execute(update(BasketLine).where(BasketLine.basket_id == b2).values(returned_quantity=1))
    # t4: bonus points coupon redeemed; t5 shops on the window's last day
    b4 = basket(db, home, t4, at(0.5), [(1, 3_000)])
    redeem(db, bonus, b4, at(0.5))
    basket(db, home, t5, at(6.9), [(1, 5_000)])
    # outside the window: before the run, and on day 7
    basket(db, home, t3, at(-0.1), [(1, 50_000)])
    basket(db, home, t3, at(7.01), [(1, 50_000)])
    basket(db, home, h1, at(1), [(1, 4_000)])
    basket(db, home, h3, at(5), [(1, 2_000)])
    basket(db, home, h2, at(8), [(1, 9_000)])
    db.commit()
    return chain, campaign


TREATMENT = [12_000, 6_000, 0, 3_000, 5_000]
HOLDOUT = [4_000, 0, 2_000]


def test_results_through_the_api(client, world):
    chain, campaign = world
    resp = client.get(f"/api/v1/campaigns/{campaign.id}/results",
                      headers=chain.headers("marketer"))
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["name"] == "Spring win-back" and body["window_complete"] is True
    assert body["treatment"]["members"] == 5 and body["holdout"]["members"] == 3
    assert body["treatment"]["visits"] == 5 and body["holdout"]["visits"] == 2
    assert body["treatment"]["spend_minor"] == sum(TREATMENT)
    assert body["treatment"]["spend_per_member_minor"] == pytest.approx(5_200)
    assert body["holdout"]["spend_per_member_minor"] == pytest.approx(2_000)
    assert body["treatment"]["visits_per_member"] == pytest.approx(1.0)
    # redemption: 3 of the campaign's 6 coupons (five and the bonus-points one)
    assert body["redemptions"] == {"issued": 6, "redeemed": 3, "rate": 0.5}
    # cost: 800 (shared basket) + 1,000 + 200 bonus points at 1 fils each
    assert body["cost"] == {"discount_minor": 1_800, "bonus_points": 200,
                            "bonus_points_minor": 200, "total_minor": 2_000}
    # the interval is Welch's: the same as scipy's t-test on the members' spend
    expected = stats.ttest_ind(TREATMENT, HOLDOUT, equal_var=False)
    ci = expected.confidence_interval(0.95)
    assert body["uplift_per_member_minor"] == pytest.approx(3_200)
    assert body["uplift_interval"]["low"] == pytest.approx(ci.low)
    assert body["uplift_interval"]["high"] == pytest.approx(ci.high)
    assert body["p_value"] == pytest.approx(expected.pvalue)
    assert body["incremental_revenue_minor"] == pytest.approx(16_000)
    assert body["incremental_revenue_interval"]["low"] == pytest.approx(ci.low * 5)
    assert body["roi"] == pytest.approx((16_000 - 2_000) / 2_000)
    assert body["roi_interval"]["high"] == pytest.approx((ci.high * 5 - 2_000) / 2_000)
    assert body["enough_data"] is True and body["notes"] == []
    # the charts: redemptions per day, and cumulative spend per member over the 7 days
    assert [(d["date"], d["redemptions"], d["discount_minor"])
            for d in body["redemptions_by_day"]] == [
        ("2026-04-01", 1, 0), ("2026-04-02", 1, 800), ("2026-04-04", 1, 1_000)]
    series = body["cumulative_spend_by_day"]
    assert [d["day"] for d in series] == list(range(7))
    assert series[0] == {"day": 0, "treatment_minor": 3_000 / 5, "holdout_minor": 0.0}
    assert series[1]["treatment_minor"] == pytest.approx(13_000 / 5)
    assert series[1]["holdout_minor"] == pytest.approx(4_000 / 3)
    assert series[-1]["treatment_minor"] == pytest.approx(5_200)
    assert series[-1]["holdout_minor"] == pytest.approx(2_000)


def test_one_store_and_the_store_manager_sees_only_their_own(client, world):
    chain, campaign = world
    url = f"/api/v1/campaigns/{campaign.id}/results"
    other = client.get(f"{url}?store={chain.other.id}", headers=chain.headers("admin")).json
    assert other["store_id"] == chain.other.id
    assert other["treatment"]["members"] == 5  # the groups keep every target
    assert other["treatment"]["spend_minor"] == 2_000 and other["holdout"]["spend_minor"] == 0
    assert other["redemptions"]["redeemed"] == 0 and other["cost"]["total_minor"] == 0
    assert other["roi"] is None and any("no ROI" in n for n in other["notes"])
    # a store manager of the home store gets the home store's figures, asked or not
    manager = chain.headers("store_manager")
    own = client.get(url, headers=manager).json
    assert own["store_id"] == chain.store.id
    assert own["treatment"]["spend_minor"] == sum(TREATMENT) - 2_000
    asked = client.get(f"{url}?store={chain.store.id}", headers=manager).json
    assert {**asked, "as_of": None} == {**own, "as_of": None}
    refused = client.get(f"{url}?store={chain.other.id}", headers=manager)
    assert refused.status_code == 403 and refused.json["code"] == "forbidden"
    assert client.get(url, headers=chain.headers("cashier")).status_code == 403


def test_unknown_campaign_store_and_bad_input(client, world):
    chain, campaign = world
    marketer = chain.headers("marketer")
    missing = client.get("/api/v1/campaigns/999/results", headers=marketer)
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/campaigns/{campaign.id}/results?store=999",
                      headers=marketer).status_code == 404
    assert client.get(f"/api/v1/campaigns/{campaign.id}/results?store=abc",
                      headers=marketer).status_code == 422
    assert client.get(f"/api/v1/campaigns/{campaign.id}/results?store=99999999999",
                      headers=marketer).status_code == 422


def test_too_few_members_says_not_enough_data(client, db, world):
    chain, _ = world
    (only,) = add_members(db, 1)
    lonely = make_campaign(db, starts_at=PLANNED)
    plan(db, lonely, PLANNED, [only], [])
    db.commit()
    body = client.get(f"/api/v1/campaigns/{lonely.id}/results",
                      headers=chain.headers("marketer")).json
    assert body["enough_data"] is False
    assert body["incremental_revenue_interval"] is None and body["roi"] is None
    assert "not enough data" in body["notes"][0]
    draft = make_campaign(db, starts_at=PLANNED)
    db.commit()
    nothing = client.get(f"/api/v1/campaigns/{draft.id}/results",
                         headers=chain.headers("marketer")).json
    assert nothing["runs"] == 0 and nothing["window_start"] is None
    assert nothing["cumulative_spend_by_day"] == [] and nothing["treatment"]["members"] == 0


def test_an_open_window_is_cut_at_now(db, world):
    from loyalty.campaigns.results import campaign_results

    _, campaign = world
    early = campaign_results(db, campaign.id, as_of=at(2))
    assert early.window_complete is False
    assert early.treatment.spend_minor == 13_000  # t4's and t1's first baskets
    assert [d.day for d in early.cumulative_spend_by_day] == [0, 1]


def test_results_command(app, client, world):
    chain, campaign = world
    result = invoke_cli(app, ["campaign", "results", str(campaign.id)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Spring win-back" in out and "95% CI" in out
    assert "incremental revenue   160.00 AED" in out
    assert "redemption rate" in out and "50.0%" in out
    store = invoke_cli(app, ["campaign", "results", str(campaign.id), "--store",
                             chain.other.code])
    assert store.exit_code == 0 and "store AUH" in store.output
    as_json = json.loads(invoke_cli(app, ["campaign", "results", str(campaign.id),
                                          "--json"]).output)
    api = client.get(f"/api/v1/campaigns/{campaign.id}/results",
                     headers=chain.headers("marketer")).json
    for key in ("treatment", "holdout", "cost", "redemptions", "incremental_revenue_interval"):
        assert as_json[key] == api[key]
    assert math.isclose(as_json["roi"], api["roi"])
    unknown = invoke_cli(app, ["campaign", "results", "999"])
    assert unknown.exit_code == 1 and "no campaign 999" in unknown.output
    assert invoke_cli(app, ["campaign", "results", "1", "--store", "NOPE"]).exit_code == 1


def test_a_multiplier_coupons_extra_points_are_the_campaigns_cost(client, db):
    """The extra points of a multiplier coupon land in the basket's bonus_points; the flat
    bonus coupon beside it (issued by hand) is not the campaign's."""
    from sqlalchemy import update

    from loyalty.baskets.models import Basket
    chain = make_chain(db)
    t1, t2, h1 = add_members(db, 3)
    campaign = make_campaign(db, starts_at=PLANNED, attribution_days=7, name="Triple points",
                             offer={"kind": "points_multiplier", "multiplier": 3})
    plan(db, campaign, PLANNED, [t1, t2], [h1])
    triple = issue(db, campaign, t1, PLANNED, kind=OfferKind.POINTS_MULTIPLIER,
                   amount_minor=None)
    triple.multiplier = 3
    flat = issue(db, campaign, t1, PLANNED, kind=OfferKind.BONUS_POINTS, amount_minor=None,
                 bonus_points=100, occasion="by hand")
    flat.campaign_id = None
    db.flush()
    b1 = basket(db, chain.store.id, t1, at(1), [(1, 5_000)])
    # 50 points earned: the triple gives 2 x 50 more, the flat coupon 100
    db.execute(update(Basket).where(Basket.id == b1).values(points_earned=50, bonus_points=200))
    redeem(db, triple, b1, at(1))
    redeem(db, flat, b1, at(1))
    db.commit()
    body = client.get(f"/api/v1/campaigns/{campaign.id}/results",
                      headers=chain.headers("marketer")).json
    assert body["cost"]["bonus_points"] == 100
