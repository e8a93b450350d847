"""Sales made while the till was offline (``"offline": true``): docs/OFFLINE.md (issue 3, §4).

What the till could not check must not refuse a sale the customer has already left with:
an invalid coupon is waived and a used one never used twice, points beyond the balance are
posted; a review flag says what was wrong.  Anything else is refused as online.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from loyalty.baskets.models import Basket
from loyalty.coupons.models import Coupon, CouponStatus, OfferKind
from loyalty.coupons.services import Offer, issue_coupon
from loyalty.db import utcnow
from loyalty.ledger.models import Account, ReviewFlag
from loyalty.ledger.verify import verify_ledger
from tests.checkout.conftest import Shop, basket, commit, give_points
from tests.factories import make_member, make_store

AN_HOUR_AGO = (utcnow() - dt.timedelta(hours=1)).isoformat()


def offline(shop: Shop, lines=None, **extra) -> dict:  # type: ignore[no-untyped-def]
    """A sale made an hour ago while the till was offline (17.00 AED unless told)."""
    return basket(shop, lines, **{"offline": True, "occurred_at": AN_HOUR_AGO, **extra})


def coupon(db, member_id: int, **terms) -> str:  # type: ignore[no-untyped-def]
    """Issue a coupon (10% off the basket unless told otherwise) and commit; its code."""
    terms.setdefault("kind", OfferKind.PERCENT_OFF)
    if terms["kind"] == OfferKind.PERCENT_OFF:
        terms.setdefault("percent", 10)
    valid_from = terms.pop("valid_from", utcnow() - dt.timedelta(days=2))
    valid_to = terms.pop("valid_to", None)
    issued = issue_coupon(db, member_id, Offer(**terms), staff_id=None, actor="test",
                          valid_from=valid_from, valid_to=valid_to)
    db.commit()
    return issued.code


def flags(db) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    db.expire_all()
    found = [(f.reason, f.detail) for f in db.scalars(select(ReviewFlag).order_by(ReviewFlag.id))]
    db.rollback()  # end the read: SQLite has one writer
    return found


def balance(db, member_id: int) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    value = db.scalar(select(Account.balance).where(Account.member_id == member_id))
    db.rollback()
    return value


def test_a_used_coupon_offline_keeps_the_sale_and_is_flagged(client, db, shop):
    code = coupon(db, shop.member_id)
    first = commit(client, shop, basket(shop, coupon_codes=[code]), "online")
    assert first.status_code == 201
    resp = commit(client, shop, offline(shop, coupon_codes=[code]), "offline")
    assert resp.status_code == 201, resp.json
    receipt = resp.json
    # The customer got 10% off at the till: it stands, and points are earned on what was paid.
    assert receipt["payable_minor"] == 1530
    assert receipt["points_earned"] == 15
    assert receipt["coupons_redeemed"] == []
    db.expire_all()
    used = db.scalar(select(Coupon).where(Coupon.code == code))
    assert used.status == CouponStatus.REDEEMED
    assert used.redeemed_basket_id == first.json["basket_id"]  # not redeemed a second time
    sale = db.get(Basket, receipt["basket_id"])
    assert (sale.coupon_discount_minor, sale.payable_minor) == (170, 1530)
    db.rollback()
    [(reason, detail)] = flags(db)
    assert reason == "offline_coupon_refused"
    assert code[:4] in detail and detail.endswith("used")


def test_the_same_coupon_online_is_still_refused(client, db, shop):
    code = coupon(db, shop.member_id)
    assert commit(client, shop, basket(shop, coupon_codes=[code]), "one").status_code == 201
    resp = commit(client, shop, basket(shop, coupon_codes=[code]), "two")
    assert resp.status_code == 422
    assert (resp.json["code"], resp.json["reason"]) == ("coupon_refused", "used")
    assert flags(db) == []


@pytest.mark.parametrize("reason", ["expired", "not_yours", "wrong_store", "not_yet_valid"])
def test_any_refusal_reason_offline_is_waived_with_its_reason(client, db, shop, settings,
                                                               reason):
    terms: dict = {}
    owner = shop.member_id
    if reason == "expired":
        terms = {"valid_from": utcnow() - dt.timedelta(days=5),
                 "valid_to": utcnow() - dt.timedelta(days=1)}
    elif reason == "not_yours":
        owner = make_member(db, settings, name="Omar Farouk")[0].id
    elif reason == "wrong_store":
        terms = {"store_id": make_store(db).id}
    else:
        terms = {"valid_from": utcnow() + dt.timedelta(days=1)}
    code = coupon(db, owner, **terms)
    resp = commit(client, shop, offline(shop, coupon_codes=[code]), "k")
    assert resp.status_code == 201, resp.json
    assert resp.json["payable_minor"] == 1530
    [(_, detail)] = flags(db)
    assert detail.endswith(reason)
    db.expire_all()
    assert db.scalar(select(Coupon.status).where(Coupon.code == code)) == CouponStatus.ISSUED


def test_a_good_coupon_is_redeemed_beside_a_waived_one(client, db, shop):
    good = coupon(db, shop.member_id, kind=OfferKind.AMOUNT_OFF, amount_minor=100,
                  currency="AED")
    spent = coupon(db, shop.member_id)
    assert commit(client, shop, basket(shop, coupon_codes=[spent]), "before").status_code == 201
    resp = commit(client, shop, offline(shop, coupon_codes=[good, spent]), "k")
    assert resp.status_code == 201, resp.json
    assert resp.json["coupons_redeemed"] == [good]
    assert resp.json["payable_minor"] == 1700 - 170 - 100  # 10% first, then the amount
    assert len(flags(db)) == 1


def test_a_coupon_scanned_twice_offline_counts_once(client, db, shop):
    code = coupon(db, shop.member_id)
    resp = commit(client, shop, offline(shop, coupon_codes=[code, code.lower()]), "k")
    assert resp.status_code == 201, resp.json
    assert resp.json["coupons_redeemed"] == [code]
    assert resp.json["payable_minor"] == 1530  # one 10% off, not two
    [(_, detail)] = flags(db)
    assert detail.endswith("duplicate")


def test_an_exclusive_coupon_beside_another_is_waived_offline(client, db, shop):
    solo = coupon(db, shop.member_id, exclusive=True)
    other = coupon(db, shop.member_id, kind=OfferKind.AMOUNT_OFF, amount_minor=100,
                   currency="AED")
    resp = commit(client, shop, offline(shop, coupon_codes=[solo, other]), "k")
    assert resp.status_code == 201, resp.json
    assert resp.json["coupons_redeemed"] == [other]
    assert resp.json["payable_minor"] == 1700 - 170 - 100  # both discounts were given
    [(_, detail)] = flags(db)
    assert detail.endswith("not_stackable")


def test_a_waived_bonus_coupon_gives_no_bonus_points(client, db, shop):
    code = coupon(db, shop.member_id, kind=OfferKind.BONUS_POINTS, bonus_points=50)
    assert commit(client, shop, basket(shop, coupon_codes=[code]), "once").json[
        "bonus_points"] == 50
    resp = commit(client, shop, offline(shop, coupon_codes=[code]), "twice")
    assert resp.status_code == 201
    assert resp.json["bonus_points"] == 0
    assert balance(db, shop.member_id) == 17 + 50 + 17


def test_an_unknown_code_is_waived_and_never_echoed(client, db, shop):
    resp = commit(client, shop, offline(shop, coupon_codes=["4111111111111111"]), "k")
    assert resp.status_code == 201
    assert resp.json["payable_minor"] == 1700  # nothing known to price
    [(_, detail)] = flags(db)
    assert "4111" not in detail and detail.endswith("unknown")


def test_offline_redemption_beyond_the_balance_is_posted_and_flagged(client, db, shop):
    """Online the same request stays 409 (test_checkout.py::test_redeeming_more_than...)."""
    give_points(db, shop.member_id, 300)
    db.commit()
    resp = commit(client, shop, offline(shop, redeem_points=500), "k")
    assert resp.status_code == 201, resp.json
    assert resp.json["points_redeemed"] == 500
    assert resp.json["payable_minor"] == 1200
    # 300 - 500 = -200; the 12 points earned pay off debt first.
    assert resp.json["balance_after"] == balance(db, shop.member_id) == -188
    # Flagged as a return that drives the balance negative is (docs/POINTS.md).
    [(reason, detail)] = flags(db)
    assert (reason, detail) == ("negative_balance", "balance -200 after redeem")
    assert verify_ledger(db) == []
    db.rollback()
    # Later sales pay the debt before any new lot forms; the ledger still adds up.
    for n in range(12):
        assert commit(client, shop, basket(shop), f"later{n}").status_code == 201
    assert balance(db, shop.member_id) == -188 + 12 * 17
    assert verify_ledger(db) == []


def test_a_replayed_offline_sale_flags_once(client, db, shop):
    code = coupon(db, shop.member_id)
    commit(client, shop, basket(shop, coupon_codes=[code]), "online")
    body = offline(shop, coupon_codes=[code], redeem_points=100)
    first = commit(client, shop, body, "k")
    again = commit(client, shop, body, "k")
    assert again.status_code == 201 and again.json == first.json
    assert [reason for reason, _ in flags(db)] == ["offline_coupon_refused", "negative_balance"]


REFUSED = {
    "unknown card": (lambda s: offline(s, card_number="9871000000000000"), 404, "unknown_card"),
    "impossible line": (lambda s: offline(s, [{"sku": "MILK", "quantity": 0,
                                               "unit_price_minor": 650}]), 422, "invalid_input"),
    "other currency": (lambda s: offline(s, currency="USD"), 422, "currency_mismatch"),
    "no time given": (lambda s: basket(s, offline=True), 422, "invalid_input"),
    "offline not a boolean": (lambda s: offline(s, offline="yes"), 422, "invalid_input"),
    "too many points for the basket": (lambda s: offline(s, redeem_points=1701), 422,
                                       "redemption_too_large"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_everything_else_is_refused_offline_too(client, db, shop, case):
    make_body, status, code = REFUSED[case]
    resp = commit(client, shop, make_body(shop), "k")
    assert (resp.status_code, resp.json["code"]) == (status, code)
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Basket)) == 0
    assert flags(db) == []


def test_an_offline_sale_in_a_batch_is_kept_and_flagged(client, db, shop):
    code = coupon(db, shop.member_id)
    commit(client, shop, basket(shop, coupon_codes=[code]), "online")
    items = [{"idempotency_key": "b1", "body": offline(shop, coupon_codes=[code])},
             {"idempotency_key": "b2", "body": offline(shop, card_number="9871000000000000")}]
    resp = client.post("/api/v1/checkouts/batch", json={"checkouts": items}, headers=shop.till)
    assert [r["status"] for r in resp.json["results"]] == [201, 404]
    [(reason, _)] = flags(db)
    assert reason == "offline_coupon_refused"
