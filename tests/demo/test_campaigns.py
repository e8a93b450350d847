"""The demo's campaigns: a finished one whose results show the uplift planted in the seed, and a
running one, so ``loyalty campaign results`` shows something on a fresh machine."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from loyalty.baskets.models import Basket
from loyalty.campaigns.models import Campaign, CampaignRun, CampaignStatus, CampaignTarget
from loyalty.config import Settings
from loyalty.coupons.models import Coupon, CouponStatus
from loyalty.demo.campaigns import CAMPAIGNS
from loyalty.demo.plan import ChainSpec
from loyalty.demo.seed import STATE_FILE
from tests.demo.conftest import Chain, own_database, seed
from tests.factories import auth, invoke_cli

# Enough members for the holdout (a quarter of the audience) to tell the uplift from noise;
# the finished campaign starts 24 days before the history ends.
POWERED = ChainSpec(members=500, baskets=1_500, days=40, seed=7)


def _campaigns(db) -> dict[str, Campaign]:  # type: ignore[no-untyped-def]
    return {c.name: c for c in db.scalars(select(Campaign))}


def test_the_small_chain_has_a_finished_and_a_running_campaign(chain, chain_db):
    db = chain_db
    found = _campaigns(db)
    assert set(found) == {spec.name for spec in CAMPAIGNS}
    finished, running = (found[spec.name] for spec in CAMPAIGNS)
    assert finished.status == CampaignStatus.ENDED and running.status == CampaignStatus.RUNNING
    for campaign in (finished, running):
        run = db.scalar(select(CampaignRun).where(CampaignRun.campaign_id == campaign.id))
        assert run.targets > run.holdout > 0
        issued = db.scalar(select(func.count()).select_from(Coupon)
                           .where(Coupon.campaign_id == campaign.id))
        redeemed = db.scalar(select(func.count()).select_from(Coupon).where(
            Coupon.campaign_id == campaign.id, Coupon.status == CouponStatus.REDEEMED))
        assert issued == run.targets - run.holdout and 0 < redeemed < issued
        # only treated members redeem: the holdout received nothing
        held_out = select(CampaignTarget.member_id).where(
            CampaignTarget.run_id == run.id, CampaignTarget.holdout.is_(True))
        assert db.scalar(select(func.count()).select_from(Coupon).where(
            Coupon.campaign_id == campaign.id, Coupon.member_id.in_(held_out))) == 0
    # the answers to the offers are baskets in the history, each redeeming its coupon
    responses = db.scalar(select(func.count()).select_from(Basket)
                          .where(Basket.external_ref.like("demo-response-%")))
    assert responses == db.scalar(select(func.count()).select_from(Coupon)
                                  .where(Coupon.status == CouponStatus.REDEEMED))


def test_demo_marketer_and_store_manager_read_the_results(chain, chain_db):
    state = json.loads((Path(chain.app.extensions["loyalty.settings"].instance_path)
                        / STATE_FILE).read_text(encoding="utf-8"))
    people = {p["username"]: p for p in state["staff"]}
    finished = _campaigns(chain_db)[CAMPAIGNS[0].name].id
    chain_db.rollback()
    client = chain.app.test_client()
    url = f"/api/v1/campaigns/{finished}/results"
    body = client.get(url, headers=auth(people["marketer"]["api_token"])).json
    assert body["window_complete"] is True and body["redemptions"]["redeemed"] > 0
    assert len(body["cumulative_spend_by_day"]) == CAMPAIGNS[0].attribution_days
    manager = next(p for p in state["staff"] if p["role"] == "store_manager")
    own = client.get(url, headers=auth(manager["api_token"])).json
    assert own["store_id"] is not None
    assert own["treatment"]["spend_minor"] < body["treatment"]["spend_minor"]
    result = invoke_cli(chain.app, ["campaign", "results", str(finished)])
    assert result.exit_code == 0 and "95% CI" in result.output, result.output


@pytest.fixture(scope="module")
def powered(database_template: str, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Chain]:
    from loyalty.app import create_app

    folder = tmp_path_factory.mktemp("powered")
    with own_database(database_template, folder, "powered") as url:
        app = create_app(Settings(instance_path=folder / "instance", database_url=url,
                                  secret_key="test-secret", testing=True, log_level="WARNING"))
        try:
            yield Chain(app, seed(app, POWERED, today=dt.date(2026, 6, 1)))
        finally:
            app.extensions["loyalty.db"].engine.dispose()


@pytest.mark.slow
def test_the_finished_campaign_shows_an_uplift_whose_interval_excludes_zero(powered):
    with powered.app.app_context():
        db = powered.session()
        finished = _campaigns(db)[CAMPAIGNS[0].name].id
        db.close()
    result = invoke_cli(powered.app, ["campaign", "results", str(finished), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["holdout"]["members"] >= 50
    assert body["uplift_per_member_minor"] > 0
    assert body["incremental_revenue_interval"]["low"] > 0, body
    assert body["roi"] > 0 and body["cost"]["discount_minor"] > 0
