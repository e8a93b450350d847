"""/api/v1/campaigns: a marketer defines, edits, launches and cancels a campaign; bad input is
a clear 4xx that changes nothing (issue 9, sections 4 and 8)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from loyalty.audit.models import AuditEvent
from loyalty.campaigns.models import Campaign
from loyalty.segments.models import Segment
from tests.campaigns.definitions import END, START, body, categories
from tests.factories import StaffDesk, make_store

API = "/api/v1/campaigns"


@pytest.fixture
def desk(db):  # type: ignore[no-untyped-def]
    return StaffDesk(db, make_store(db))


def test_a_marketer_defines_edits_launches_and_cancels_a_campaign(client, db, desk):
    marketer = desk("marketer")
    made = client.post(API, json=body(), headers=marketer)
    assert made.status_code == 201, made.json
    campaign = made.json
    assert campaign["status"] == "draft" and campaign["holdout_percent"] == 10
    assert campaign["offer"] == {"kind": "amount_off", "amount_minor": 500, "currency": "AED"}
    assert campaign["reached"] == 0 and campaign["spent_minor"] == 0
    assert campaign["budget_minor"] == 100_000 and campaign["created_by"].startswith("staff:")
    url = f"{API}/{campaign['id']}"

    edited = client.patch(url, json={"holdout_percent": 20, "offer": {
        "kind": "amount_off", "amount_minor": 700}}, headers=marketer)
    assert edited.status_code == 200, edited.json
    assert edited.json["holdout_percent"] == 20
    # money in the campaign's currency, filled in when the offer names none
    assert edited.json["offer"] == {"kind": "amount_off", "amount_minor": 700, "currency": "AED"}

    launched = client.post(f"{url}/launch", headers=marketer)
    assert launched.status_code == 200, launched.json
    assert launched.json["status"] == "scheduled"  # its start is ahead
    assert launched.json["cost_per_coupon_minor"] == 700
    assert launched.json["launched_by"] == campaign["created_by"]

    listed = client.get(API, headers=marketer)
    assert [(c["id"], c["status"]) for c in listed.json] == [(campaign["id"], "scheduled")]
    assert client.get(f"{API}?status=draft", headers=marketer).json == []
    assert client.get(f"{url}/runs", headers=marketer).json == []

    cancelled = client.post(f"{url}/cancel", headers=marketer)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    again = client.post(f"{url}/cancel", headers=marketer)
    assert again.status_code == 409 and again.json["code"] == "campaign_not_active"

    actions = db.scalars(select(AuditEvent.action).where(
        AuditEvent.subject == f"campaign:{campaign['id']}").order_by(AuditEvent.id)).all()
    assert actions == ["campaign.create", "campaign.update", "campaign.launch",
                       "campaign.cancel"]


def test_launching_twice_is_a_409_and_changes_nothing(client, db, desk):
    admin = desk("admin")
    url = f"{API}/{client.post(API, json=body(), headers=admin).json['id']}"
    first = client.post(f"{url}/launch", headers=admin).json
    second = client.post(f"{url}/launch", headers=admin)
    assert second.status_code == 409, second.json
    assert second.json["code"] == "already_launched"
    assert second.headers["Content-Type"].startswith("application/problem+json")
    assert client.get(url, headers=admin).json == first
    assert db.scalar(select(func.count()).select_from(AuditEvent)
                     .where(AuditEvent.action == "campaign.launch")) == 1
    db.rollback()


def test_a_launched_campaign_is_frozen(client, desk):
    marketer = desk("marketer")
    url = f"{API}/{client.post(API, json=body(), headers=marketer).json['id']}"
    client.post(f"{url}/launch", headers=marketer)
    before = client.get(url, headers=marketer).json
    refused = client.patch(url, json={"budget_minor": 5}, headers=marketer)
    assert refused.status_code == 409 and refused.json["code"] == "campaign_frozen"
    assert client.get(url, headers=marketer).json == before


def test_a_saved_segment_is_copied_so_editing_it_later_changes_nothing(client, db, desk):
    marketer = desk("marketer")
    rule = {"field": "recency_days", "op": "<=", "value": 30}
    seg = client.post("/api/v1/segments", json={"name": "recent", "rule": rule},
                      headers=marketer).json
    made = client.post(API, json=body(audience=None, segment_id=seg["id"]), headers=marketer)
    assert made.status_code == 201, made.json
    assert made.json["audience"] == rule and made.json["segment_id"] == seg["id"]
    db.get(Segment, seg["id"]).rule = {"consent": "sms"}
    db.commit()
    assert client.get(f"{API}/{made.json['id']}", headers=marketer).json["audience"] == rule
    unknown = client.post(API, json=body(audience=None, segment_id=999999, name="x"),
                          headers=marketer)
    assert unknown.status_code == 422 and "segment" in unknown.json["detail"]


def test_every_kind_is_accepted_with_its_parameters(client, db, desk):
    cats = categories(db, "dairy", "bakery")
    db.commit()
    admin = desk("admin")
    kinds = [
        body(name="win", kind="win_back", audience=None, parameters={"lapsed_days": 60}),
        body(name="keep", kind="retention", audience=None,
             parameters={"p_alive_below": 0.3}),
        body(name="cross", kind="cross_sell", audience=None,
             offer={"kind": "percent_off", "percent": 15, "category_id": cats["bakery"]},
             parameters={"from_category_id": cats["dairy"]}),
        body(name="up", kind="up_sell", audience=None,
             offer={"kind": "bonus_points", "bonus_points": 200, "min_spend_minor": 20000}),
        body(name="bday", kind="birthday", audience=None,
             offer={"kind": "amount_off", "amount_minor": 1000, "currency": "AED"}),
        body(name="anniv", kind="anniversary", audience=None),
        body(name="hello", kind="welcome", audience=None, budget_minor=None),
    ]
    for data in kinds:
        made = client.post(API, json=data, headers=admin)
        assert made.status_code == 201, (data["name"], made.json)
    listed = {c["name"]: c for c in client.get(API, headers=admin).json}
    assert listed["win"]["parameters"] == {"lapsed_days": 60, "min_visits": 2}
    assert listed["bday"]["recurrence"] == "daily"  # automations run daily
    assert listed["hello"]["budget_minor"] is None


def _bad(**changes):  # type: ignore[no-untyped-def]
    return body(**changes)


BAD_INPUT = [
    # a malformed or unknown-field audience rule: 422 naming the rule's JSON path
    ("malformed rule", _bad(audience={"and": "no"}), 422, "invalid_segment_rule"),
    ("unknown field", _bad(audience={"field": "shoe_size", "op": "=", "value": 42}), 422,
     "invalid_segment_rule"),
    ("unknown category", _bad(audience={"bought_category": 999999, "within_days": 30}), 422,
     "invalid_segment_rule"),
    ("unknown store", _bad(audience={"shopped_at": 999999}), 422, "invalid_segment_rule"),
    ("end before start", _bad(starts_at=END.isoformat(), ends_at=START.isoformat()), 422,
     "invalid_input"),
    ("negative budget", _bad(budget_minor=-1), 422, "invalid_input"),
    ("percent over 100", _bad(offer={"kind": "percent_off", "percent": 101}), 422,
     "invalid_input"),
    ("offer in another currency", _bad(offer={"kind": "amount_off", "amount_minor": 500,
                                              "currency": "EUR"}), 422, "currency_mismatch"),
    ("unknown offer store", _bad(offer={"kind": "percent_off", "percent": 5,
                                        "store_id": 999999}), 422, "invalid_input"),
    ("unknown offer category", _bad(offer={"kind": "percent_off", "percent": 5,
                                           "category_id": 999999}), 422, "invalid_input"),
    ("unknown offer field", _bad(offer={"kind": "percent_off", "percent": 5, "max": 1}), 422,
     "invalid_input"),
    ("holdout over 50", _bad(holdout_percent=51), 422, "invalid_input"),
    ("parameter of another kind", _bad(kind="win_back", audience=None,
                                       parameters={"stretch_percent": 150}), 422,
     "invalid_input"),
    ("targeted without audience", _bad(audience=None), 422, "invalid_input"),
    ("cross-sell without category", _bad(kind="cross_sell", audience=None), 422,
     "invalid_input"),
    ("half a contact limit", _bad(member_limit_count=2), 422, "invalid_input"),
]


@pytest.mark.parametrize(("label", "data", "status", "code"), BAD_INPUT,
                         ids=[case[0] for case in BAD_INPUT])
def test_bad_input_is_a_clear_error_and_changes_nothing(client, db, desk, label, data, status,
                                                        code):
    marketer = desk("marketer")
    resp = client.post(API, json=data, headers=marketer)
    assert resp.status_code == status, resp.json
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    assert resp.json["code"] == code, resp.json
    if code == "invalid_segment_rule":
        assert resp.json["path"].startswith("$")
    assert db.scalar(select(func.count()).select_from(Campaign)) == 0
    db.rollback()  # SQLite: the read above holds the write lock (BEGIN IMMEDIATE)
    # the same on an edit of an existing draft: refused, the draft unchanged
    url = f"{API}/{client.post(API, json=body(name='ok'), headers=marketer).json['id']}"
    before = client.get(url, headers=marketer).json
    changes = {k: v for k, v in data.items() if body().get(k) != v and k != "name"}
    edit = client.patch(url, json=changes, headers=marketer)
    assert edit.status_code == status, (changes, edit.json)
    assert client.get(url, headers=marketer).json == before


def test_a_duplicate_name_is_a_409(client, desk):
    admin = desk("admin")
    assert client.post(API, json=body(), headers=admin).status_code == 201
    again = client.post(API, json=body(), headers=admin)
    assert again.status_code == 409 and again.json["code"] == "already_exists"


def test_only_marketers_and_admins_change_campaigns_and_managers_may_read(client, desk):
    url = f"{API}/{client.post(API, json=body(), headers=desk('admin')).json['id']}"
    manager = desk("store_manager")
    assert client.get(API, headers=manager).status_code == 200
    assert client.get(url, headers=manager).status_code == 200
    assert client.get(f"{url}/runs", headers=manager).status_code == 200
    for role in ("store_manager", "cashier", "till"):
        headers = desk(role)
        assert client.post(API, json=body(name=role), headers=headers).status_code == 403
        assert client.post(f"{url}/launch", headers=headers).status_code == 403
        assert client.post(f"{url}/cancel", headers=headers).status_code == 403
        assert client.patch(url, json={"holdout_percent": 0}, headers=headers).status_code == 403
    for role in ("cashier", "till"):
        assert client.get(API, headers=desk(role)).status_code == 403
    assert client.get(API).status_code == 401
    assert client.get(url, headers=desk("admin")).json["status"] == "draft"


def test_an_unknown_campaign_is_a_404(client, desk):
    admin = desk("admin")
    for method, path in (("get", ""), ("patch", ""), ("post", "/launch"), ("post", "/cancel"),
                         ("get", "/runs"), ("post", "/dry-run")):
        kwargs = {"json": {}} if method != "get" else {}
        resp = getattr(client, method)(f"{API}/999999{path}", headers=admin, **kwargs)
        assert resp.status_code == 404, (method, path, resp.json)


def test_changing_a_drafts_kind_takes_the_new_kinds_parameters(client, desk):
    admin = desk("admin")
    made = client.post(API, json=body(kind="win_back", audience=None), headers=admin).json
    assert made["parameters"] == {"lapsed_days": 90, "min_visits": 2}
    changed = client.patch(f"{API}/{made['id']}", json={"kind": "retention"}, headers=admin)
    assert changed.status_code == 200, changed.json
    assert changed.json["parameters"] == {"p_alive_below": 0.5}


def test_a_budget_needs_a_bound_on_a_percent_coupons_cost(client, desk):
    """No basket yet to bound a percent coupon: a budget would cap nothing, so launch says so."""
    admin = desk("admin")
    percent = {"kind": "percent_off", "percent": 10}
    url = f"{API}/{client.post(API, json=body(offer=percent), headers=admin).json['id']}"
    refused = client.post(f"{url}/launch", headers=admin)
    assert refused.status_code == 422 and "max_basket_minor" in refused.json["detail"]
    assert client.get(url, headers=admin).json["status"] == "draft"
    client.patch(url, json={"parameters": {"max_basket_minor": 30000}}, headers=admin)
    launched = client.post(f"{url}/launch", headers=admin).json
    assert (launched["status"], launched["cost_per_coupon_minor"]) == ("scheduled", 3000)
