"""Members API: enrol, profile, search by phone, consent and notes (issue 2, section 2)."""

from __future__ import annotations

from sqlalchemy import func, select

from loyalty.audit.models import AuditEvent
from loyalty.cards.models import Card
from loyalty.ledger.models import Account
from loyalty.members.models import ConsentRecord, Member
from tests.factories import make_member

LAYLA = {
    "name": "Layla Haddad", "phone": "+971 50 123 4567", "email": "Layla@Example.com",
    "birth_date": "1990-04-01", "gender": "female", "language": "ar",
    "preferred_channel": "email",
}


def _count(db, model) -> int:  # type: ignore[no-untyped-def]
    """Count rows, then end the read (on SQLite it holds the write lock the app needs)."""
    db.expire_all()
    count = db.scalar(select(func.count()).select_from(model))
    db.rollback()
    return count


def test_cashier_enrols_a_member_with_account_and_card(client, db, desk, settings):
    resp = client.post("/api/v1/members", json=LAYLA, headers=desk("cashier"))
    assert resp.status_code == 201, resp.json
    member, card = resp.json["member"], resp.json["card"]
    assert member["phone"] == "+971501234567"  # E.164
    assert member["email"] == "layla@example.com"
    assert member["language"] == "ar" and member["preferred_channel"] == "email"
    assert card["number"].startswith(settings.card_prefix) and card["status"] == "active"
    assert db.scalar(select(Account.balance).where(Account.member_id == member["id"])) == 0
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "member.enrol"))
    assert event.subject == f"member:{member['id']}" and event.actor.startswith("staff:")


def test_enrol_refuses_bad_input_and_writes_nothing(client, db, desk):
    headers = desk("cashier")
    cases = [
        ({**LAYLA, "phone": "050 123"}, 422),
        ({**LAYLA, "phone": "+1 555 0100"}, 422),  # not a valid number
        ({**LAYLA, "email": "not-an-email"}, 422),
        ({**LAYLA, "gender": "unknown"}, 422),
        ({**LAYLA, "language": "Arabic"}, 422),
        ({**LAYLA, "preferred_channel": "pigeon"}, 422),
        ({**LAYLA, "favourite_colour": "blue"}, 422),  # unknown field
        ({**LAYLA, "birth_date": "2999-01-01"}, 422),
        ({"phone": "+971501234567"}, 422),  # no name
    ]
    for body, status in cases:
        resp = client.post("/api/v1/members", json=body, headers=headers)
        assert resp.status_code == status, (body, resp.json)
        assert resp.mimetype == "application/problem+json"
    assert _count(db, Member) == 0 and _count(db, Card) == 0


def test_enrol_refuses_a_phone_or_email_in_use(client, db, desk):
    headers = desk("store_manager")
    assert client.post("/api/v1/members", json=LAYLA, headers=headers).status_code == 201
    again = client.post("/api/v1/members", json={**LAYLA, "email": None}, headers=headers)
    assert again.status_code == 409 and again.json["code_hint"] == "duplicate_phone"
    again = client.post("/api/v1/members", json={**LAYLA, "phone": None}, headers=headers)
    assert again.status_code == 409 and again.json["code_hint"] == "duplicate_email"
    assert _count(db, Member) == 1


def test_only_desk_staff_enrol(client, db, desk):
    for role in ("marketer", "till"):
        resp = client.post("/api/v1/members", json=LAYLA, headers=desk(role))
        assert resp.status_code == 403, role
    assert client.post("/api/v1/members", json=LAYLA).status_code == 401
    assert _count(db, Member) == 0


def test_profile_shows_tier_balance_cards_and_current_consent(client, db, desk, settings):
    member, card = make_member(db, settings)
    db.commit()
    resp = client.get(f"/api/v1/members/{member.id}", headers=desk("cashier"))
    assert resp.status_code == 200
    body = resp.json
    assert body["name"] == "Layla Haddad" and body["balance"] == 0 and body["tier"] is None
    assert [c["number"] for c in body["cards"]] == [card.number]
    assert body["consents"] == {"email": None, "sms": None}
    missing = client.get("/api/v1/members/999999", headers=desk("cashier"))
    assert missing.status_code == 404 and missing.json["code"] == "not_found"


def test_update_profile_changes_only_what_is_sent(client, db, desk, settings):
    member, _card = make_member(db, settings, email="old@example.com", phone="+971501111111")
    db.commit()
    url = f"/api/v1/members/{member.id}"
    resp = client.patch(url, json={"phone": "+98 912 345 6789", "email": None,
                                   "language": "fa"}, headers=desk("cashier"))
    assert resp.status_code == 200, resp.json
    assert resp.json["phone"] == "+989123456789" and resp.json["email"] is None
    assert resp.json["language"] == "fa" and resp.json["name"] == "Layla Haddad"
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "member.update"))
    assert event.detail == {"fields": ["email", "language", "phone"]}
    assert "+989123456789" not in str(event.detail)  # the audit log holds no contact data
    db.rollback()
    for bad in ({"name": None}, {"name": ""}, {"phone": "12"}, {"id": 5}):
        assert client.patch(url, json=bad, headers=desk("cashier")).status_code == 422, bad
    db.expire_all()
    assert db.get(Member, member.id).phone == "+989123456789"


def test_update_refuses_another_members_phone(client, db, desk, settings):
    make_member(db, settings, name="A", phone="+971501111111")
    other, _ = make_member(db, settings, name="B", phone="+971502222222")
    db.commit()
    resp = client.patch(f"/api/v1/members/{other.id}", json={"phone": "+971501111111"},
                        headers=desk("store_manager"))
    assert resp.status_code == 409
    db.expire_all()
    assert db.get(Member, other.id).phone == "+971502222222"


def test_search_by_phone_for_the_till(client, db, desk, settings):
    member, _card = make_member(db, settings, phone="+971501234567")
    make_member(db, settings, name="Other", phone="+971509999999")
    db.commit()
    for query in ({"phone": "+971501234567"}, {"phone": "+971 50 123 4567"},
                  {"phone": "050 123 4567", "region": "AE"}):
        resp = client.get("/api/v1/members", query_string=query, headers=desk("till"))
        assert resp.status_code == 200, (query, resp.json)
        assert [m["id"] for m in resp.json] == [member.id], query
        assert set(resp.json[0]) == {"id", "name", "phone", "language"}
    none = client.get("/api/v1/members", query_string={"phone": "+971505555555"},
                      headers=desk("till"))
    assert none.status_code == 200 and none.json == []
    assert client.get("/api/v1/members", headers=desk("till")).status_code == 422
    bad = client.get("/api/v1/members", query_string={"phone": "0501234567"},
                     headers=desk("till"))
    assert bad.status_code == 422  # a national number needs its region
    no_filter = client.get("/api/v1/members", query_string={"name": "x"}, headers=desk("till"))
    assert no_filter.status_code == 422  # never a list of every member


def test_consent_is_append_only_and_newest_wins(client, db, desk, settings):
    member, _card = make_member(db, settings)
    db.commit()
    url = f"/api/v1/members/{member.id}/consents"
    headers = desk("cashier")
    first = client.post(url, json={"channel": "email", "granted": True, "text_version": "v1"},
                        headers=headers)
    assert first.status_code == 201 and first.json["recorded_at"]
    assert first.json["source"].startswith("staff:")
    second = client.post(url, json={"channel": "email", "granted": False,
                                    "text_version": "v2"}, headers=headers)
    assert second.status_code == 201
    client.post(url, json={"channel": "sms", "granted": True, "text_version": "v2"},
                headers=headers)
    profile = client.get(f"/api/v1/members/{member.id}", headers=headers).json
    assert profile["consents"]["email"]["granted"] is False
    assert profile["consents"]["email"]["text_version"] == "v2"
    assert profile["consents"]["sms"]["granted"] is True
    history = client.get(url, headers=headers).json
    assert [(h["channel"], h["granted"]) for h in history] == [
        ("sms", True), ("email", False), ("email", True)]
    assert _count(db, ConsentRecord) == 3
    for bad in ({"channel": "fax", "granted": True, "text_version": "v1"},
                {"channel": "sms", "granted": True},
                {"channel": "sms", "granted": True, "text_version": "x" * 33}):
        assert client.post(url, json=bad, headers=headers).status_code == 422
    assert client.post("/api/v1/members/99999/consents", headers=headers, json={
        "channel": "sms", "granted": True, "text_version": "v1"}).status_code == 404
    assert _count(db, ConsentRecord) == 3


def test_staff_notes_timeline(client, db, desk, settings):
    member, _card = make_member(db, settings)
    db.commit()
    url = f"/api/v1/members/{member.id}/notes"
    headers = desk("cashier")
    for text in ("Lost card reported", "Prefers Arabic receipts", "Called about points"):
        resp = client.post(url, json={"body": text}, headers=headers)
        assert resp.status_code == 201 and resp.json["author"].startswith("user")
    page = client.get(url, query_string={"page": 1, "page_size": 2}, headers=headers)
    assert page.status_code == 200
    assert [n["body"] for n in page.json] == ["Called about points", "Prefers Arabic receipts"]
    assert '"total": 3' in page.headers["X-Pagination"]
    assert client.post(url, json={"body": "   "}, headers=headers).status_code == 422
    assert client.post(url, json={"body": "x", "pinned": True}, headers=headers).status_code \
        == 422
    assert client.get(url, headers=desk("marketer")).status_code == 403


def test_manager_issues_an_extra_card(client, db, desk, settings):
    member, first = make_member(db, settings)
    db.commit()
    url = f"/api/v1/members/{member.id}/cards"
    assert client.post(url, headers=desk("cashier")).status_code == 403
    resp = client.post(url, headers=desk("store_manager"))
    assert resp.status_code == 201 and resp.json["number"] != first.number
    cards = client.get(f"/api/v1/members/{member.id}", headers=desk("cashier")).json["cards"]
    assert {c["status"] for c in cards} == {"active"} and len(cards) == 2
