"""Cards: identify at the till, block, replace a lost card, and images (issue 2, sections 2-3)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from loyalty.audit.models import AuditEvent
from loyalty.cards.models import Card, CardStatus
from loyalty.cards.schemas import describe_coupon
from loyalty.coupons.models import Coupon, OfferKind
from loyalty.db import utcnow
from loyalty.ledger.models import PostingKind
from loyalty.ledger.services import PostingRequest, earn_points, take_back_points
from loyalty.members.models import Member
from loyalty.tiers.services import add_tier
from tests.factories import make_member, make_store


def _give_points(db, member_id: int, points: int) -> None:  # type: ignore[no-untyped-def]
    earn_points(db, PostingRequest(PostingKind.ADJUST, member_id, points, utcnow(),
                                   reason="test"), 365)


def _coupon(db, member_id: int, code: str, **kw) -> Coupon:  # type: ignore[no-untyped-def]
    now = utcnow()
    values = {"kind": OfferKind.PERCENT_OFF, "percent": 10, "valid_from": now - dt.timedelta(1),
              "valid_to": now + dt.timedelta(days=30), "issued_by_staff_id": None, **kw}
    coupon = Coupon(code=code, member_id=member_id, **values)
    db.add(coupon)
    return coupon


def test_identify_returns_member_tier_balance_and_coupons(client, db, desk, settings):
    gold = add_tier(db, "gold", "Gold", 2, 500_000, 1500)
    member, card = make_member(db, settings, language="ar")
    member.tier_id = gold.id
    _give_points(db, member.id, 120)
    other_store = make_store(db, "AED")
    _coupon(db, member.id, "TENOFF", valid_to=utcnow() + dt.timedelta(days=3))
    _coupon(db, member.id, "FIVEAED", kind=OfferKind.AMOUNT_OFF, percent=None,
            amount_minor=500, currency="AED", min_spend_minor=5000)
    _coupon(db, member.id, "EXPIRED", valid_to=utcnow() - dt.timedelta(hours=1))
    _coupon(db, member.id, "ELSEWHERE", store_id=other_store.id)
    db.commit()
    resp = client.get(f"/api/v1/cards/{card.number}", headers=desk("till"))
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["member"] == {"id": member.id, "name": "Layla Haddad", "language": "ar"}
    assert body["tier"] == {"code": "gold", "name": "Gold"}
    assert body["balance"] == 120 and body["redeemable_points"] == 120
    assert [c["code"] for c in body["coupons"]] == ["TENOFF", "FIVEAED"]
    assert body["coupons"][0]["kind"] == "percent_off"
    assert body["coupons"][0]["description"] == "10% off"
    assert body["coupons"][1]["description"] == "5.00 AED off, min 50.00 AED"
    assert dt.datetime.fromisoformat(body["coupons"][0]["valid_to"]) > utcnow()


def test_identify_without_tier_and_with_a_negative_balance(client, db, desk, settings):
    member, card = make_member(db, settings)
    _give_points(db, member.id, 10)
    # A return after the points were spent takes the balance below zero.
    take_back_points(db, PostingRequest(PostingKind.EARN_REVERSAL, member.id, -30, utcnow()))
    db.commit()
    body = client.get(f"/api/v1/cards/{card.number}", headers=desk("cashier")).json
    assert body["tier"] is None and body["coupons"] == []
    assert body["balance"] == -20 and body["redeemable_points"] == 0


def test_describe_coupon_for_each_kind():
    cases = [
        (Coupon(kind=OfferKind.PERCENT_OFF, percent=15, category_id=3, min_spend_minor=0),
         "15% off on one category"),
        (Coupon(kind=OfferKind.AMOUNT_OFF, amount_minor=2500, currency="KWD",
                min_spend_minor=0), "2.500 KWD off"),
        (Coupon(kind=OfferKind.FREE_ITEM, free_sku="COFFEE", min_spend_minor=0), "free COFFEE"),
        (Coupon(kind=OfferKind.BONUS_POINTS, bonus_points=50, min_spend_minor=0),
         "50 bonus points"),
    ]
    for coupon, text in cases:
        assert describe_coupon(coupon) == text


def test_identify_refuses_unknown_blocked_and_replaced_cards(client, db, desk, settings):
    _member, blocked = make_member(db, settings, name="A")
    _member, replaced = make_member(db, settings, name="B")
    blocked.status = CardStatus.BLOCKED
    replaced.status = CardStatus.REPLACED
    db.commit()
    headers = desk("till")
    cases = {
        "9871000000000000": (404, "unknown_card"),  # our format, Luhn-valid, not issued
        "12345": (404, "unknown_card"),
        "not-a-card": (404, "unknown_card"),
        blocked.number: (403, "card_blocked"),
        replaced.number: (403, "card_replaced"),
    }
    for number, (status, code) in cases.items():
        resp = client.get(f"/api/v1/cards/{number}", headers=headers)
        assert (resp.status_code, resp.json["code"]) == (status, code), number
        assert resp.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/cards/{blocked.number}").status_code == 401
    assert client.get(f"/api/v1/cards/{blocked.number}", headers=desk("marketer")) \
        .status_code == 403


def test_cashier_blocks_a_card_and_the_till_refuses_it(client, db, desk, settings):
    member, card = make_member(db, settings)
    db.commit()
    url = f"/api/v1/cards/{card.number}/block"
    assert client.post(url, json={}, headers=desk("marketer")).status_code == 403
    assert client.post(url, json={}, headers=desk("till")).status_code == 403
    resp = client.post(url, json={"reason": "reported lost by phone"}, headers=desk("cashier"))
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "blocked" and resp.json["status_reason"] == \
        "reported lost by phone"
    refused = client.get(f"/api/v1/cards/{card.number}", headers=desk("till"))
    assert refused.status_code == 403 and refused.json["code"] == "card_blocked"
    again = client.post(url, headers=desk("cashier"))  # idempotent; the body is optional
    assert again.status_code == 200 and again.json["status_reason"] == "reported lost by phone"
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "card.block")).all()
    assert len(events) == 1 and events[0].subject == f"card:{card.id}"
    assert events[0].detail["member_id"] == member.id
    db.rollback()
    assert client.post(url, json={"colour": "red"}, headers=desk("cashier")).status_code == 422


def test_replacing_a_lost_card_keeps_the_members_points(client, db, desk, settings):
    member, old = make_member(db, settings)
    _give_points(db, member.id, 250)
    db.commit()
    url = f"/api/v1/cards/{old.number}/replace"
    assert client.post(url, json={}, headers=desk("cashier")).status_code == 403
    resp = client.post(url, json={"reason": "lost"}, headers=desk("store_manager"))
    assert resp.status_code == 201, resp.json
    new_number = resp.json["new"]["number"]
    assert resp.json["old"]["status"] == "replaced"
    assert resp.json["old"]["replaced_by_id"] == resp.json["new"]["id"]
    assert new_number != old.number and resp.json["new"]["member_id"] == member.id
    identified = client.get(f"/api/v1/cards/{new_number}", headers=desk("till"))
    assert identified.status_code == 200 and identified.json["balance"] == 250
    assert identified.json["member"]["id"] == member.id
    refused = client.get(f"/api/v1/cards/{old.number}", headers=desk("till"))
    assert refused.status_code == 403 and refused.json["code"] == "card_replaced"
    retry = client.post(url, json={"reason": "lost"}, headers=desk("store_manager"))
    assert retry.status_code == 403 and retry.json["code"] == "card_replaced"
    assert db.scalar(select(func.count()).select_from(Card)
                     .where(Card.member_id == member.id)) == 2
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "card.replace"))
    assert event.detail["new_card_id"] == resp.json["new"]["id"]


def test_a_blocked_card_can_be_replaced(client, db, desk, settings):
    _member, card = make_member(db, settings)
    db.commit()
    client.post(f"/api/v1/cards/{card.number}/block", json={}, headers=desk("cashier"))
    resp = client.post(f"/api/v1/cards/{card.number}/replace", json={}, headers=desk("admin"))
    assert resp.status_code == 201
    blocked_replaced = client.post(f"/api/v1/cards/{card.number}/block", json={},
                                   headers=desk("cashier"))
    assert blocked_replaced.status_code == 403 and blocked_replaced.json["code"] == \
        "card_replaced"


def test_unknown_card_actions_change_nothing(client, db, desk):
    for action in ("block", "replace"):
        resp = client.post(f"/api/v1/cards/9871000000000000/{action}", json={},
                           headers=desk("admin"))
        assert resp.status_code == 404 and resp.json["code"] == "unknown_card"
    assert db.scalar(select(func.count()).select_from(Card)) == 0
    assert db.scalar(select(func.count()).select_from(Member)) == 0
