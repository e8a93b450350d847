"""The coupons API and coupons at the till, through HTTP."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
from PIL import Image
from sqlalchemy import select

from loyalty.coupons.codes import display_code
from loyalty.coupons.models import Coupon, CouponStatus
from loyalty.coupons.signing import verify_payload
from loyalty.stores.models import Store
from tests.coupons.conftest import basket, commit, give
from tests.factories import auth, make_store, staff_token


@pytest.fixture
def marketer(db):  # type: ignore[no-untyped-def]
    token = staff_token(db, "marketer")
    db.commit()
    return auth(token)


def _issue(client, headers, member_id, **body):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/coupons", json={"member_id": member_id, "kind": "percent_off",
                                                "percent": 15, **body}, headers=headers)


def test_public_key_needs_no_credentials_and_verifies_issued_coupons(client, shop, marketer):
    key = client.get("/api/v1/coupons/public-key")
    assert key.status_code == 200
    assert key.json["algorithm"] == "Ed25519"
    assert key.json["pem"].startswith("-----BEGIN PUBLIC KEY-----")
    issued = _issue(client, marketer, shop.member_id, store_id=shop.store_id, valid_days=7)
    assert issued.status_code == 201, issued.json
    for material in (key.json["pem"], key.json["raw_base64"]):
        claims = verify_payload(material, issued.json["qr_payload"])
        assert claims.code == issued.json["code"]
        assert claims.member_id == shop.member_id
        assert claims.store_id == shop.store_id
        assert claims.offer == {"kind": "percent_off", "percent": 15}
        assert claims.key_id == key.json["key_id"]


def test_marketer_issues_and_lists_a_members_coupons(client, db, shop, marketer):
    made = _issue(client, marketer, shop.member_id, category_id=shop.grocery_id,
                  min_spend_minor=2000, currency="AED", exclusive=True)
    assert made.status_code == 201, made.json
    assert made.json["display_code"] == display_code(made.json["code"])
    assert made.json["status"] == "issued"
    assert made.json["offer"] == {"kind": "percent_off", "percent": 15, "currency": "AED",
                                  "category_id": shop.grocery_id, "min_spend_minor": 2000,
                                  "exclusive": True}
    listed = client.get(f"/api/v1/coupons?member_id={shop.member_id}", headers=marketer)
    assert listed.status_code == 200
    assert [c["code"] for c in listed.json] == [made.json["code"]]
    one = client.get(f"/api/v1/coupons/{made.json['display_code'].lower()}", headers=marketer)
    assert one.status_code == 200 and one.json["id"] == made.json["id"]
    assert db.scalar(select(Coupon.issued_by_staff_id)) is not None


@pytest.mark.parametrize(("role", "status"), [
    ("admin", 201), ("marketer", 201), ("cashier", 403), (None, 401), ("till", 403),
])
def test_who_may_issue(client, db, shop, role, status):
    if role == "till":
        headers = shop.till
    elif role:
        store = db.get(Store, shop.store_id) if role == "cashier" else None
        headers = auth(staff_token(db, role, store))
        db.commit()
    else:
        headers = {}
    assert _issue(client, headers, shop.member_id).status_code == status


def test_store_manager_issues_for_their_own_store_only(client, db, shop):
    manager = auth(staff_token(db, "store_manager", db.get(Store, shop.store_id)))
    other = make_store(db, "AED")
    db.commit()
    own = _issue(client, manager, shop.member_id)
    assert own.status_code == 201 and own.json["store_id"] == shop.store_id
    assert _issue(client, manager, shop.member_id, store_id=other.id).status_code == 403


@pytest.mark.parametrize("body", [
    {"percent": None}, {"surprise": 1}, {"percent": 10, "amount_minor": 5},
    {"valid_days": 5, "valid_to": "2030-01-01T00:00:00Z"}, {"valid_to": "2030-01-01T00:00:00"},
    {"kind": "half_price"}, {"member_id": "7"},
])
def test_bad_issue_requests_get_422_and_write_nothing(client, db, shop, marketer, body):
    payload = {"member_id": shop.member_id, "kind": "percent_off", "percent": 15, **body}
    payload = {k: v for k, v in payload.items() if v is not None}
    answer = client.post("/api/v1/coupons", json=payload, headers=marketer)
    assert answer.status_code == 422, answer.json
    assert answer.mimetype == "application/problem+json"
    assert db.scalar(select(Coupon.id)) is None


def test_unknown_member_is_404(client, marketer, shop):
    assert _issue(client, marketer, 9999).status_code == 404
    assert client.get("/api/v1/coupons?member_id=9999", headers=marketer).status_code == 404


@pytest.mark.parametrize(("kind", "fmt", "mimetype"), [
    ("barcode", "svg", "image/svg+xml"), ("barcode", "png", "image/png"),
    ("qr", "svg", "image/svg+xml"), ("qr", "png", "image/png"),
])
def test_images(client, db, shop, marketer, kind, fmt, mimetype):
    coupon = give(db, shop)
    url = f"/api/v1/coupons/{display_code(coupon.code)}/{kind}.{fmt}"
    answer = client.get(url, headers=marketer)
    assert answer.status_code == 200
    assert answer.mimetype == mimetype
    if fmt == "svg":
        root = ET.fromstring(answer.data)
        assert root.tag.endswith("svg")
        if kind == "barcode":
            assert display_code(coupon.code) in answer.get_data(as_text=True)
    else:
        image = Image.open(io.BytesIO(answer.data))
        assert image.format == "PNG" and image.width > 50
    assert client.get(url).status_code == 401


def test_qr_holds_the_signed_payload(client, db, shop, marketer):
    import qrcode

    coupon = give(db, shop)
    payload = client.get(f"/api/v1/coupons/{coupon.code}", headers=marketer).json["qr_payload"]
    svg = client.get(f"/api/v1/coupons/{coupon.code}/qr.svg", headers=marketer).get_data(True)
    # The QR's size is fixed by what it holds: the same payload gives the same version.
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(payload)
    qr.make(fit=True)
    side = qr.modules_count + 8
    assert f'viewBox="0 0 {side} {side}"' in svg


def test_unknown_coupon_images_are_404(client, marketer, shop):
    answer = client.get("/api/v1/coupons/AAAA-AAAA-AAAA/qr.png", headers=marketer)
    assert answer.status_code == 404 and answer.json["code"] == "unknown_coupon"
    assert client.get("/api/v1/coupons/AAAA/qr.gif", headers=marketer).status_code == 404


# --- at the till ------------------------------------------------------------------------------


def test_quote_and_commit_with_a_coupon(client, db, shop):
    coupon = give(db, shop, percent=10)
    body = basket(shop, coupon_codes=[display_code(coupon.code)])
    quote = client.post("/api/v1/checkouts/quote", json=body, headers=shop.till)
    assert quote.status_code == 200, quote.json
    assert quote.json["coupon_discount_minor"] == 170  # 10% of 17.00
    assert quote.json["payable_minor"] == 1530
    sale = commit(client, shop, body, "sale-1")
    assert sale.status_code == 201, sale.json
    assert sale.json["coupons_redeemed"] == [coupon.code]
    again = commit(client, shop, body, "sale-2")
    assert again.status_code == 422
    assert (again.json["code"], again.json["reason"]) == ("coupon_refused", "used")
    db.expire_all()
    assert db.get(Coupon, coupon.id).redeemed_basket_id == sale.json["basket_id"]


def test_someone_elses_coupon_is_refused_at_the_till(client, db, shop, other_member):
    coupon = give(db, shop, member_id=other_member.id)
    answer = client.post("/api/v1/checkouts/quote",
                         json=basket(shop, coupon_codes=[coupon.code]), headers=shop.till)
    assert answer.status_code == 422
    assert answer.json["reason"] == "not_yours"
    assert answer.json["coupon_code"] == coupon.code


def test_returns_give_the_coupon_back_only_when_full(client, db, shop):
    coupon = give(db, shop)
    sale = commit(client, shop, basket(shop, coupon_codes=[coupon.code]), "sale")
    basket_id = sale.json["basket_id"]

    def give_back(key, lines):  # type: ignore[no-untyped-def]
        return client.post("/api/v1/returns", json={"basket_id": basket_id, "lines": lines},
                           headers={**shop.till, "Idempotency-Key": key})

    partial = give_back("r1", [{"line_no": 1, "quantity": 1}])
    assert partial.status_code == 201 and partial.json["coupons_restored"] == []
    db.expire_all()
    assert db.get(Coupon, coupon.id).status == CouponStatus.REDEEMED
    db.rollback()  # end the read: on SQLite it holds the write lock (BEGIN IMMEDIATE)
    rest = give_back("r2", [{"line_no": 1, "quantity": 1}, {"line_no": 2, "quantity": 1}])
    assert rest.status_code == 201, rest.json
    assert rest.json["coupons_restored"] == [coupon.code]
    db.expire_all()
    assert db.get(Coupon, coupon.id).status == CouponStatus.ISSUED
