"""/api/v1/segments: a marketer previews a rule, saves it, lists it and previews it again."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from loyalty.audit.models import AuditEvent
from tests.factories import StaffDesk, make_store
from tests.segments.helpers import build_population

EMAIL_WOMEN = {"and": [{"field": "gender", "op": "=", "value": "female"}, {"consent": "email"}]}


def test_a_marketer_previews_saves_and_reuses_a_segment(client, db):
    people, _ = build_population(db)
    desk = StaffDesk(db, make_store(db))
    marketer = desk("marketer")
    db.commit()
    ann = next(p for p in people if p.name == "Ann")

    preview = client.post("/api/v1/segments/preview", json={"rule": EMAIL_WOMEN},
                          headers=marketer)
    assert preview.status_code == 200, preview.json
    assert preview.json == {"count": 1, "sample": [{"id": ann.id, "name": "Ann"}]}

    every = {"or": [{"not": {"consent": "sms"}}, {"consent": "sms"}]}
    capped = client.post("/api/v1/segments/preview", json={"rule": every, "sample": 2},
                         headers=marketer)
    assert capped.json["count"] == len(people)
    assert [m["id"] for m in capped.json["sample"]] == sorted(p.id for p in people)[:2]

    made = client.post("/api/v1/segments", json={"name": "Women, email", "rule": EMAIL_WOMEN},
                       headers=marketer)
    assert made.status_code == 201, made.json
    seg_id = made.json["id"]
    assert made.json["rule"] == EMAIL_WOMEN and made.json["created_by"].startswith("staff:")
    again = client.post("/api/v1/segments", json={"name": "Women, email", "rule": every},
                        headers=marketer)
    assert again.status_code == 409 and again.json["code"] == "already_exists"

    listed = client.get("/api/v1/segments", headers=marketer)
    assert [s["name"] for s in listed.json] == ["Women, email"]
    assert client.get(f"/api/v1/segments/{seg_id}", headers=marketer).json["name"] == (
        "Women, email")
    saved = client.get(f"/api/v1/segments/{seg_id}/preview?sample=0", headers=marketer)
    assert saved.status_code == 200 and saved.json == {"count": 1, "sample": []}
    assert client.get("/api/v1/segments/999999", headers=marketer).status_code == 404
    assert client.get("/api/v1/segments/999999/preview", headers=marketer).status_code == 404

    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "segment.create")).all()
    assert [(e.subject, e.detail["name"]) for e in events] == [(f"segment:{seg_id}",
                                                                 "Women, email")]


@pytest.mark.parametrize(("rule", "path"), [
    ({"and": [{"consent": "sms"}, {"field": "frequency", "op": ">", "value": "3"}]},
     "$.and[1].value"),
    ({"or": [{"field": "shoe_size", "op": "=", "value": 42}]}, "$.or[0].field"),
    ({"not": {"consent": "sms", "field": "r"}}, "$.not.consent"),
    ({"bought_category": 999999, "within_days": 30}, "$.bought_category"),
    ({"or": [{"consent": "sms"}, {"bought": 999998, "never": 999999}]}, "$.or[1].bought"),
    ({"shopped_at": 999999, "within_days": 30}, "$.shopped_at"),
    ({"and": [{"consent": "sms"}, {"field": "home_store", "op": "in", "value": [999998]}]},
     "$.and[1].value[0]"),
    ({"not": {"consent": "sms", "colour": "red"}}, "$.not.colour"),
])
def test_a_bad_rule_is_a_422_naming_its_path_and_saves_nothing(client, db, rule, path):
    desk = StaffDesk(db, make_store(db))
    admin = desk("admin")
    for url, body in (("/api/v1/segments/preview", {"rule": rule}),
                      ("/api/v1/segments", {"name": "bad", "rule": rule})):
        resp = client.post(url, json=body, headers=admin)
        assert resp.status_code == 422, resp.json
        assert resp.headers["Content-Type"].startswith("application/problem+json")
        assert resp.json["code"] == "invalid_segment_rule"
        assert resp.json["path"] == path and path in resp.json["detail"]
    assert client.get("/api/v1/segments", headers=admin).json == []


def test_only_marketers_and_admins(client, db):
    desk = StaffDesk(db, make_store(db))
    body = {"rule": {"consent": "sms"}}
    for role in ("marketer", "admin"):
        assert client.post("/api/v1/segments/preview", json=body,
                           headers=desk(role)).status_code == 200
    for role in ("store_manager", "cashier", "till"):
        resp = client.post("/api/v1/segments/preview", json=body, headers=desk(role))
        assert resp.status_code == 403, role
        assert client.get("/api/v1/segments", headers=desk(role)).status_code == 403
    assert client.get("/api/v1/segments").status_code == 401


BODIES = [
    # (body, content type, status, code, a word the detail or errors must carry)
    (b'{"rule": {"consent": "sms"}', "application/json", 400, "malformed_json", None),
    (b"rule=consent", "application/json", 400, "malformed_json", None),
    (b'{"rule": {"consent": "sms"}}', "text/plain", 415, "unsupported_media_type",
     "Content-Type: application/json"),
    (b"rule=consent", "application/x-www-form-urlencoded", 415, "unsupported_media_type",
     "Content-Type: application/json"),
    (b'{"rule": {"consent": "sms"}, "name": "x", "colour": "red"}', "application/json", 422,
     "invalid_input", "colour"),
    (b'{"rule": [{"consent": "sms"}], "name": "x"}', "application/json", 422, "invalid_input",
     "rule"),
    (b'{"rule": "consent sms", "name": "x"}', "application/json", 422, "invalid_input", "rule"),
    (b'["rule"]', "application/json", 422, "invalid_input", None),
]


@pytest.mark.parametrize(("body", "content_type", "status", "code", "names"), BODIES,
                         ids=[f"{c} {b[:20]!r}" for b, c, *_ in BODIES])
def test_a_body_that_is_no_rule_is_refused_and_saves_nothing(client, db, body, content_type,
                                                            status, code, names):
    desk = StaffDesk(db, make_store(db))
    marketer = desk("marketer")
    for url in ("/api/v1/segments/preview", "/api/v1/segments"):
        resp = client.post(url, data=body, content_type=content_type, headers=marketer)
        assert (resp.status_code, resp.json["code"]) == (status, code), resp.json
        assert resp.mimetype == "application/problem+json"
        if names:
            assert names in f"{resp.json.get('detail')} {resp.json.get('errors')}", resp.json
    assert client.get("/api/v1/segments", headers=marketer).json == []
