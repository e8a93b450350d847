"""Setting the tier ladder: ``PUT /api/v1/tiers`` and ``loyalty tiers set/list``."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from loyalty.audit.models import AuditEvent
from loyalty.auth.policy import ADMIN, MANAGER
from loyalty.tiers.models import Tier
from tests.auth.conftest import chain  # noqa: F401 - fixture
from tests.factories import invoke_cli, make_member

TIERS = "/api/v1/tiers"
SILVER = {"code": "silver", "name": "Silver", "min_spend_minor": 250_000,
          "multiplier_permille": 1100}
GOLD = {"code": "gold", "name": "Gold", "min_spend_minor": 500_000, "multiplier_permille": 1250}


def ladder(db) -> list[tuple]:  # type: ignore[no-untyped-def]
    db.rollback()  # a fresh read, ended at once: on SQLite a transaction holds the write lock
    rows = [tuple(row) for row in db.execute(
        select(Tier.rank, Tier.code, Tier.min_spend_minor, Tier.multiplier_permille)
        .order_by(Tier.rank))]
    db.rollback()
    return rows


def test_admin_sets_reorders_and_reads_the_ladder(client, db, chain):  # noqa: F811
    headers = chain.headers(ADMIN)
    first = client.put(TIERS, json={"tiers": [SILVER, GOLD]}, headers=headers)
    assert first.status_code == 200, first.json
    assert [(t["rank"], t["code"]) for t in first.json] == [(1, "silver"), (2, "gold")]
    gold_id = first.json[1]["id"]
    # A new rung below, gold's threshold raised: gold keeps its id (and its members).
    bronze = {"code": "bronze", "name": "Bronze", "min_spend_minor": 0}
    second = client.put(TIERS, json={"tiers": [bronze, SILVER, {**GOLD,
                                                                "min_spend_minor": 600_000}]},
                        headers=headers)
    assert second.status_code == 200, second.json
    assert second.json[2]["id"] == gold_id
    assert ladder(db) == [(1, "bronze", 0, 1000), (2, "silver", 250_000, 1100),
                          (3, "gold", 600_000, 1250)]
    read = client.get(TIERS, headers=chain.headers(MANAGER))
    assert [t["code"] for t in read.json] == ["bronze", "silver", "gold"]
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "tier.set")).all()
    assert len(events) == 2 and events[0].actor.startswith("staff:")
    assert events[1].detail["tiers"][2] == ["gold", 600_000, 1250]


BAD = [
    pytest.param([GOLD, SILVER], "thresholds must increase", id="thresholds decreasing"),
    pytest.param([SILVER, {**GOLD, "min_spend_minor": 250_000}], "thresholds must increase",
                 id="thresholds equal"),
    pytest.param([SILVER, {**GOLD, "code": "silver"}], "unique", id="duplicate code"),
]


@pytest.mark.parametrize(("tiers", "message"), BAD)
def test_a_bad_ladder_is_refused_whole(client, db, chain, tiers, message):  # noqa: F811
    answer = client.put(TIERS, json={"tiers": tiers}, headers=chain.headers(ADMIN))
    assert answer.status_code == 422 and answer.json["code"] == "invalid_input"
    assert message in answer.json["detail"]
    assert ladder(db) == []


@pytest.mark.parametrize("tier", [
    pytest.param({**SILVER, "min_spend_minor": -1}, id="negative threshold"),
    pytest.param({**SILVER, "multiplier_permille": 0}, id="zero multiplier"),
    pytest.param({**SILVER, "multiplier_permille": 2**31}, id="multiplier 2**31"),
    pytest.param({**SILVER, "code": "sil ver"}, id="code with a space"),
    pytest.param({**SILVER, "name": ""}, id="no name"),
    pytest.param({"code": "silver", "name": "Silver"}, id="no threshold"),
])
def test_a_malformed_tier_gets_a_field_error(client, db, chain, tier):  # noqa: F811
    answer = client.put(TIERS, json={"tiers": [tier]}, headers=chain.headers(ADMIN))
    assert answer.status_code == 422 and "tiers" in answer.json["errors"]["json"]
    assert ladder(db) == []


def test_a_tier_a_member_holds_cannot_be_dropped(client, db, chain, settings):  # noqa: F811
    headers = chain.headers(ADMIN)
    gold_id = client.put(TIERS, json={"tiers": [SILVER, GOLD]}, headers=headers).json[1]["id"]
    member, _card = make_member(db, settings)
    member.tier_id = gold_id
    db.commit()
    answer = client.put(TIERS, json={"tiers": [SILVER]}, headers=headers)
    assert answer.status_code == 409 and "gold" in answer.json["detail"]
    assert [code for _r, code, *_ in ladder(db)] == ["silver", "gold"]
    assert client.put(TIERS, json={"tiers": [GOLD]}, headers=headers).status_code == 200
    assert [code for _r, code, *_ in ladder(db)] == ["gold"]


def test_only_admins_set_the_ladder(client, db, chain):  # noqa: F811
    answer = client.put(TIERS, json={"tiers": [SILVER]}, headers=chain.headers(MANAGER))
    assert answer.status_code == 403
    assert ladder(db) == []


def test_cli_sets_and_lists_the_ladder(app, db):
    result = invoke_cli(app, ["tiers", "set", "--tier", "silver", "Silver", "250000", "1100",
                              "--tier", "gold", "Gold", "500000", "1250"])
    assert result.exit_code == 0, result.output
    assert "silver < gold" in result.output
    assert ladder(db) == [(1, "silver", 250_000, 1100), (2, "gold", 500_000, 1250)]
    db.commit()
    listed = invoke_cli(app, ["tiers", "list"])
    assert listed.exit_code == 0
    assert [line.split()[:3] for line in listed.output.splitlines()] == [
        ["1", "silver", "250000"], ["2", "gold", "500000"]]
    refused = invoke_cli(app, ["tiers", "set", "--tier", "gold", "Gold", "500000", "1250",
                               "--tier", "silver", "Silver", "250000", "1100"])
    assert refused.exit_code == 1 and "thresholds must increase" in refused.output
    assert ladder(db)[0][1] == "silver"
    audit = db.scalar(select(AuditEvent).where(AuditEvent.action == "tier.set"))
    assert audit.actor == "cli"
