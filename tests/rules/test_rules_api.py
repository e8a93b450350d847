"""``/api/v1/earning-rules`` for admins: add, list, end; validated, audited, and in force at
the next checkout."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from loyalty.audit.models import AuditEvent
from loyalty.auth.policy import ADMIN, CASHIER, MARKETER
from loyalty.db import utcnow
from loyalty.rules.models import EarningRule
from loyalty.staff.models import StaffUser
from tests.checkout.conftest import basket, commit, shop  # noqa: F401 - fixture
from tests.factories import auth, staff_token

RULES = "/api/v1/earning-rules"
SOON = (utcnow() + dt.timedelta(days=1)).isoformat()
LATER = (utcnow() + dt.timedelta(days=8)).isoformat()


def add(client, chain, body):  # type: ignore[no-untyped-def]
    return client.post(RULES, json=body, headers=chain.headers(ADMIN))


def test_admin_adds_lists_and_ends_rules_with_an_audit_trail(client, db, chain, catalog):
    base = add(client, chain, {"name": "1 point per dirham", "kind": "base",
                               "currency": "AED", "points_per_unit": "1",
                               "min_spend_minor": 500})
    assert base.status_code == 201, base.json
    assert base.json["points_per_unit"] == "1" and base.json["valid_to"] is None
    double = add(client, chain, {"name": "Double grocery", "kind": "category",
                                 "category_id": catalog["grocery"],
                                 "multiplier_permille": 2000, "valid_to": LATER})
    half = add(client, chain, {"name": "Half a point", "kind": "base", "currency": "USD",
                               "points_per_unit": "0.5"})
    assert double.status_code == half.status_code == 201
    assert half.json["points_per_unit"] == "1/2"

    listed = client.get(RULES, headers=chain.headers(MARKETER))
    assert listed.status_code == 200
    assert [r["name"] for r in listed.json] == ["1 point per dirham", "Double grocery",
                                                 "Half a point"]

    ended = client.post(f"{RULES}/{double.json['id']}/end", json={},
                        headers=chain.headers(ADMIN))
    assert ended.status_code == 200 and ended.json["valid_to"] is not None
    assert [r["name"] for r in client.get(RULES, headers=chain.headers(ADMIN)).json] == [
        "1 point per dirham", "Half a point"]
    everything = client.get(f"{RULES}?all=true", headers=chain.headers(ADMIN)).json
    assert len(everything) == 3

    admin_id = _staff_id(db, "admin-hq")  # the chain's admin (tests/auth/chain.py)
    events = db.execute(select(AuditEvent.actor, AuditEvent.action, AuditEvent.subject)
                        .order_by(AuditEvent.id)
                        .where(AuditEvent.action.like("rule.%"))).all()
    assert events == [
        (f"staff:{admin_id}", "rule.add", f"earning_rule:{base.json['id']}"),
        (f"staff:{admin_id}", "rule.add", f"earning_rule:{double.json['id']}"),
        (f"staff:{admin_id}", "rule.add", f"earning_rule:{half.json['id']}"),
        (f"staff:{admin_id}", "rule.end", f"earning_rule:{double.json['id']}"),
    ]


def _staff_id(db, username: str) -> int:  # type: ignore[no-untyped-def]
    return db.scalar(select(StaffUser.id).where(StaffUser.username == username))


BAD = [
    pytest.param({"kind": "base", "points_per_unit": "-1"}, "points_per_unit", id="negative rate"),
    pytest.param({"kind": "base", "points_per_unit": "1/0"}, "points_per_unit", id="rate 1/0"),
    pytest.param({"kind": "base", "points_per_unit": "lots"}, "points_per_unit", id="rate text"),
    pytest.param({"kind": "base", "points_per_unit": 1.5}, "points_per_unit", id="float rate"),
    pytest.param({"kind": "base", "min_spend_minor": -1}, "min_spend_minor", id="negative min"),
    pytest.param({"kind": "category", "category_id": "G", "multiplier_permille": -1000},
                 "multiplier_permille", id="negative multiplier"),
    pytest.param({"kind": "category", "category_id": 2**31}, "category_id", id="id 2**31"),
    pytest.param({"kind": "base", "currency": "aed"}, "currency", id="lower-case currency"),
    pytest.param({"kind": "bonus"}, "kind", id="unknown kind"),
    pytest.param({"kind": "base", "valid_from": "0001-01-01T00:00:00+05:00"}, "valid_from",
                 id="year 1"),
    pytest.param({"kind": "base", "valid_from": "2030-01-01T00:00:00"}, "valid_from",
                 id="naive time"),
]


@pytest.mark.parametrize(("body", "field"), BAD)
def test_malformed_rules_are_refused_by_field(client, db, chain, catalog, body, field):
    body = {"name": "bad", **body}
    if body.get("category_id") == "G":
        body["category_id"] = catalog["grocery"]
    answer = add(client, chain, body)
    assert answer.status_code == 422, answer.json
    assert answer.json["code"] == "invalid_input" and field in str(answer.json["errors"])
    assert db.scalars(select(EarningRule)).all() == []


ILL_FORMED = [
    pytest.param({"kind": "base", "category_id": "G"}, "does not take category_id",
                 id="base with a category"),
    pytest.param({"kind": "category", "multiplier_permille": 2000}, "needs its category_id",
                 id="category without its category"),
    pytest.param({"kind": "product", "sku": "MILK", "points_per_unit": "2"},
                 "does not take points_per_unit", id="product with a rate"),
    pytest.param({"kind": "exclusion", "sku": "CIGS", "category_id": "T"},
                 "one of category_id or sku", id="exclusion of two things"),
    pytest.param({"kind": "exclusion"}, "one of category_id or sku", id="exclusion of nothing"),
    pytest.param({"kind": "category", "category_id": 999_999}, "no category 999999",
                 id="unknown category"),
    pytest.param({"kind": "store", "store_id": 999_999}, "no store 999999", id="unknown store"),
    pytest.param({"kind": "product", "sku": "NOPE"}, "no product with SKU 'NOPE'",
                 id="unknown SKU"),
    pytest.param({"kind": "base", "currency": "ZZZ"}, "unknown currency", id="unknown currency"),
    pytest.param({"kind": "base", "valid_from": LATER, "valid_to": SOON},
                 "valid_to must be after valid_from", id="window backwards"),
    pytest.param({"kind": "base", "name": "tab\there"}, "printable", id="control character"),
    pytest.param({"kind": "product", "sku": "MI\x00LK"}, "NUL", id="NUL in a SKU"),
]


@pytest.mark.parametrize(("body", "message"), ILL_FORMED)
def test_ill_formed_rules_get_a_clear_422(client, db, chain, catalog, body, message):
    body = {"name": "bad", **body}
    for key, code in (("category_id", "G"), ("category_id", "T")):
        if body.get(key) == code:
            body[key] = catalog["grocery" if code == "G" else "tobacco"]
    answer = add(client, chain, body)
    assert answer.status_code == 422, answer.json
    assert answer.json["code"] == "invalid_input"
    # the schema's field messages (json -> field -> [...]) or the service's detail
    assert message in answer.json["detail"] + str(answer.json.get("errors", "")), answer.json
    assert db.scalars(select(EarningRule)).all() == []


def test_two_rules_on_one_target_at_once_conflict_until_the_first_ends(client, chain, catalog):
    grocery = {"kind": "category", "category_id": catalog["grocery"],
               "multiplier_permille": 2000}
    first = add(client, chain, {"name": "double", **grocery, "valid_to": LATER})
    assert first.status_code == 201
    clash = add(client, chain, {"name": "triple", **grocery, "multiplier_permille": 3000,
                                "valid_from": SOON})
    assert clash.status_code == 409
    assert clash.json["code"] == "rule_overlaps" and clash.json["rule_id"] == first.json["id"]
    # From the first's end on, the second may start; another target may overlap at will.
    assert add(client, chain, {"name": "triple", **grocery, "multiplier_permille": 3000,
                               "valid_from": LATER}).status_code == 201
    assert add(client, chain, {"name": "tobacco x2", **grocery,
                               "category_id": catalog["tobacco"]}).status_code == 201
    # Base rules may overlap (the later start wins: a double-points weekend), not tie.
    base = {"name": "base", "kind": "base", "currency": "AED", "valid_from": SOON}
    assert add(client, chain, base).status_code == 201
    assert add(client, chain, {**base, "valid_from": LATER}).status_code == 201
    assert add(client, chain, base).json["code"] == "rule_overlaps"


def test_ending_a_rule_can_shorten_it_never_extend_or_precede_it(client, chain, catalog):
    rule = add(client, chain, {"name": "promo", "kind": "base", "valid_from": SOON,
                               "valid_to": LATER}).json
    end = f"{RULES}/{rule['id']}/end"
    headers = chain.headers(ADMIN)
    before_start = client.post(end, json={"at": utcnow().isoformat()}, headers=headers)
    assert before_start.status_code == 422 and "before it starts" in before_start.json["detail"]
    beyond = client.post(end, json={"at": "2100-01-01T00:00:00Z"}, headers=headers)
    assert beyond.status_code == 409 and "already ended" in beyond.json["detail"]
    shorter = (utcnow() + dt.timedelta(days=2)).isoformat()
    assert client.post(end, json={"at": shorter}, headers=headers).status_code == 200
    assert client.post(f"{RULES}/999999/end", json={}, headers=headers).status_code == 404


def test_only_admins_change_rules(client, db, chain, catalog):
    body = {"name": "x", "kind": "base"}
    assert client.post(RULES, json=body, headers=chain.headers(CASHIER)).status_code == 403
    assert client.post(RULES, json=body, headers=chain.headers(MARKETER)).status_code == 403
    assert client.post(RULES, json=body).status_code == 401
    assert db.scalars(select(EarningRule)).all() == []


def test_a_rule_added_through_the_api_earns_at_the_next_checkout(client, db, shop):  # noqa: F811
    admin = auth(staff_token(db, ADMIN))
    db.commit()
    before = commit(client, shop, basket(shop), "before").json
    assert before["points_earned"] == 17  # 2 x 6.50 + 4.00 AED at 1 point per AED
    added = client.post(RULES, json={"name": "Triple milk", "kind": "product", "sku": "MILK",
                                     "multiplier_permille": 3000}, headers=admin)
    assert added.status_code == 201, added.json
    after = commit(client, shop, basket(shop), "after").json
    assert after["points_earned"] == 43  # 13 AED of milk x3 + 4 AED of bread


@pytest.mark.parametrize("rule_id", [0, 2**31, 2**63])
def test_ending_an_id_out_of_range_is_404(client, chain, rule_id):
    answer = client.post(f"{RULES}/{rule_id}/end", json={}, headers=chain.headers(ADMIN))
    assert answer.status_code == 404 and answer.json["code"] == "not_found"
