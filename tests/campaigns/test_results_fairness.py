"""GET /api/v1/campaigns/<id>/fairness and ``loyalty campaign fairness``: reach and offer value by
RFM segment, tier, gender and age band, with the groups far from the average flagged."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import insert, update

from loyalty.insight.models import MemberInsight
from loyalty.members.models import Member
from loyalty.tiers.models import Tier
from tests.auth.chain import make_chain
from tests.campaigns.results_helpers import issue, make_campaign, plan
from tests.factories import invoke_cli
from tests.insight.helpers import add_members

PLANNED = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
JOINED = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _world(db):  # type: ignore[no-untyped-def]
    """80 members: 40 women all offered 10 AED; 40 men, 10 of them offered 10 AED and 10
    offered 30 AED.  Ages: the women 30, the men 50 (on the planning day).  Half of each are
    gold, the rest without a tier; the first 20 of each are Champions."""
    chain = make_chain(db)
    women, men = add_members(db, 40), add_members(db, 40)
    gold = Tier(code="gold", name="Gold", rank=1, min_spend_minor=0)
    db.add(gold)
    db.flush()
    for ids, gender, born in ((women, "Female", dt.date(1995, 6, 1)),
                              (men, "male", dt.date(1975, 6, 1))):
        db.execute(update(Member).where(Member.id.in_(ids)).values(
            gender=gender, birth_date=born, created_at=JOINED))
        db.execute(update(Member).where(Member.id.in_(ids[::2])).values(tier_id=gold.id))
        db.execute(insert(MemberInsight), [
            {"member_id": m, "as_of": dt.date(2026, 3, 31), "first_purchase_at": JOINED,
             "last_purchase_at": JOINED, "recency_days": 1, "frequency": 1, "monetary_minor": 1,
             "average_basket_minor": 1, "segment": "Champions" if i < 20 else "Lost"}
            for i, m in enumerate(ids)])
    # someone who joined after the run is not eligible
    (late,) = add_members(db, 1)
    db.execute(update(Member).where(Member.id == late).values(
        created_at=PLANNED + dt.timedelta(days=1)))
    campaign = make_campaign(db, starts_at=PLANNED)
    offered = women + men[:20]
    plan(db, campaign, PLANNED, offered, [])
    for m in women + men[:10]:
        issue(db, campaign, m, PLANNED, amount_minor=1_000)
    for m in men[10:20]:
        issue(db, campaign, m, PLANNED, amount_minor=3_000)
    db.commit()
    return chain, campaign


def _by(body: dict, dimension: str) -> dict[str, dict]:
    return {g["group"]: g for g in body["groups"] if g["dimension"] == dimension}


def test_fairness_through_the_api(client, db):
    chain, campaign = _world(db)
    resp = client.get(f"/api/v1/campaigns/{campaign.id}/fairness",
                      headers=chain.headers("marketer"))
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert (body["eligible"], body["reached"], body["coupons"]) == (80, 60, 60)
    assert body["reach"] == 0.75
    assert body["mean_offer_value_minor"] == (50 * 1_000 + 10 * 3_000) / 60
    gender = _by(body, "gender")
    assert set(gender) == {"female", "male"}
    female, male = gender["female"], gender["male"]
    assert (female["members"], female["reached"], female["reach"]) == (40, 40, 1.0)
    assert (male["members"], male["reached"], male["reach"]) == (40, 20, 0.5)
    assert female["reach_ratio"] == 1 / 0.75 and male["reach_ratio"] == 0.5 / 0.75
    assert female["flagged"] and male["flagged"]
    assert any(r.startswith("reach 0.67x") for r in male["reasons"])
    # men who got an offer got better ones: 2,000 on average against 1,000
    assert male["mean_offer_value_minor"] == 2_000
    assert any(r.startswith("offer value") for r in male["reasons"])
    ages = _by(body, "age_band")
    assert set(ages) == {"25-34", "45-54"}
    assert ages["25-34"]["reach"] == 1.0 and ages["45-54"]["flagged"]
    # the tiers split both sexes and both offers evenly: nothing to flag there
    tiers, segments = _by(body, "tier"), _by(body, "segment")
    assert {k: v["members"] for k, v in tiers.items()} == {"gold": 40, "none": 40}
    assert {k: v["reach"] for k, v in tiers.items()} == {"gold": 0.75, "none": 0.75}
    # every Champion was offered (1.33x) at 1,500 on average (1.125x: within the band); the
    # Lost were offered half as often (0.67x), and only 1,000 (0.75x)
    assert segments["Champions"]["reasons"] == ["reach 1.33x the average"]
    assert segments["Lost"]["reasons"] == ["reach 0.67x the average",
                                           "offer value 0.75x the average"]
    assert {(g["dimension"], g["group"]) for g in body["groups"] if g["flagged"]} == {
        ("gender", "female"), ("gender", "male"), ("age_band", "25-34"),
        ("age_band", "45-54"), ("segment", "Champions"), ("segment", "Lost")}


def test_small_groups_are_never_flagged(client, db):
    chain, campaign = _world(db)
    url = f"/api/v1/campaigns/{campaign.id}/fairness"
    body = client.get(f"{url}?min_members=41", headers=chain.headers("admin")).json
    assert body["min_members"] == 41
    assert not any(g["flagged"] for g in body["groups"])
    assert client.get(f"{url}?min_members=0", headers=chain.headers("admin")).status_code == 422
    assert client.get("/api/v1/campaigns/999/fairness",
                      headers=chain.headers("admin")).status_code == 404
    # fairness is chain-wide: marketing's, not a store's
    assert client.get(url, headers=chain.headers("store_manager")).status_code == 403


def test_programme_wide_fairness(app, db):
    from loyalty.campaigns.fairness import fairness

    chain, campaign = _world(db)
    second = make_campaign(db, starts_at=PLANNED)
    (extra,) = add_members(db, 1)
    issue(db, second, extra, PLANNED, amount_minor=500)
    db.commit()
    programme = fairness(db, None)  # every member enrolled by now
    assert programme.campaign_id is None
    assert (programme.eligible, programme.reached, programme.coupons) == (82, 61, 61)
    client = app.test_client()
    body = client.get("/api/v1/campaigns/fairness", headers=chain.headers("marketer")).json
    assert (body["campaign_id"], body["eligible"], body["reached"]) == (None, 82, 61)
    assert client.get("/api/v1/campaigns/fairness",
                      headers=chain.headers("store_manager")).status_code == 403
    result = invoke_cli(app, ["campaign", "fairness"])
    assert result.exit_code == 0 and "every campaign: 61 of 82" in result.output, result.output
    one = fairness(db, campaign.id)  # those enrolled by its run
    assert (one.eligible, one.reached) == (80, 60)
    before = fairness(db, None, as_of=PLANNED - dt.timedelta(days=1))
    assert (before.eligible, before.reached) == (80, 0)


def test_fairness_command(app, client, db):
    chain, campaign = _world(db)
    result = invoke_cli(app, ["campaign", "fairness", str(campaign.id)])
    assert result.exit_code == 0, result.output
    assert "60 of 80 eligible members offered (75.0%)" in result.output
    male = next(line for line in result.output.splitlines() if line.startswith("gender     male"))
    assert "<- reach 0.67x the average" in male
    as_json = json.loads(invoke_cli(app, ["campaign", "fairness", str(campaign.id),
                                          "--json"]).output)
    api = client.get(f"/api/v1/campaigns/{campaign.id}/fairness",
                     headers=chain.headers("marketer")).json
    assert as_json["groups"] == api["groups"]
    missing = invoke_cli(app, ["campaign", "fairness", "999"])
    assert missing.exit_code == 1 and "no campaign 999" in missing.output
