"""Coupon services on the database under test: issue, price, redeem, restore, list."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from loyalty.audit.models import AuditEvent
from loyalty.baskets.models import Basket
from loyalty.coupons.codes import check_symbol, display_code, normalise_code
from loyalty.coupons.models import Coupon, CouponStatus, OfferKind
from loyalty.coupons.services import (
    Offer,
    PricedLine,
    active_coupons,
    issue_coupon,
    price_coupons,
    redeem_coupons,
    restore_coupons_for_return,
)
from loyalty.db import utcnow
from loyalty.errors import CouponRefused, InvalidInput, NotFound
from tests.coupons.conftest import give
from tests.factories import make_store

LINES = [PricedLine(1, "MILK", None, 2, 650, 1300), PricedLine(2, "BREAD", None, 1, 400, 400)]


def _price(db, shop, codes, **over):  # type: ignore[no-untyped-def]
    kw = {"member_id": shop.member_id, "store_id": shop.store_id, "currency": "AED",
          "at": utcnow(), "lines": LINES} | over
    return price_coupons(db, codes, **kw)


def _basket(db, shop) -> int:  # type: ignore[no-untyped-def]
    row = Basket(store_id=shop.store_id, member_id=shop.member_id, currency="AED",
                 subtotal_minor=1700, payable_minor=1700, occurred_at=utcnow())
    db.add(row)
    db.commit()
    return row.id


def test_issue_stores_the_coupon_and_audits_it(db, shop):
    start = dt.datetime(2026, 1, 1, 9, 30, 15, 123456, tzinfo=dt.UTC)
    coupon = issue_coupon(db, shop.member_id, Offer(OfferKind.AMOUNT_OFF, amount_minor=500,
                                                    currency="AED", category_id=shop.grocery_id),
                          staff_id=None, actor="staff:9", valid_from=start)
    db.commit()
    db.expire_all()
    row = db.get(Coupon, coupon.id)
    assert normalise_code(row.code) == row.code
    assert (row.status, row.amount_minor, row.category_id) == (
        CouponStatus.ISSUED, 500, shop.grocery_id)
    assert row.valid_from == start.replace(microsecond=0)
    assert row.valid_to == row.valid_from + dt.timedelta(days=30)
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "coupon.issue"))
    assert (event.actor, event.subject) == ("staff:9", f"member:{shop.member_id}")
    assert event.detail["coupon_code"] == row.code
    assert event.detail["offer"] == {"kind": "amount_off", "amount_minor": 500,
                                     "currency": "AED", "category_id": shop.grocery_id}


@pytest.mark.parametrize(("offer", "message"), [
    (Offer(OfferKind.PERCENT_OFF), "needs percent"),
    (Offer(OfferKind.PERCENT_OFF, percent=10, amount_minor=5), "cannot have amount_minor"),
    (Offer(OfferKind.PERCENT_OFF, percent=101), "between 1 and 100"),
    (Offer(OfferKind.AMOUNT_OFF, amount_minor=500), "needs its currency"),
    (Offer(OfferKind.PERCENT_OFF, percent=5, min_spend_minor=100), "needs its currency"),
    (Offer(OfferKind.FREE_ITEM, free_sku="MILK", category_id=1), "free_sku, not a category"),
    (Offer(OfferKind.BONUS_POINTS, bonus_points=-5), "needs bonus_points|positive"),
    (Offer(OfferKind.PERCENT_OFF, percent=10, category_id=999), "no category"),
    (Offer(OfferKind.PERCENT_OFF, percent=10, store_id=999), "no store"),
])
def test_issue_refuses_incomplete_or_inconsistent_offers(db, shop, offer, message):
    with pytest.raises(InvalidInput, match=message):
        issue_coupon(db, shop.member_id, offer, staff_id=None, actor="test")
    db.rollback()
    assert db.scalar(select(Coupon.id)) is None
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.action == "coupon.issue")) is None


def test_issue_refuses_bad_member_store_currency_and_dates(db, shop):
    with pytest.raises(NotFound):
        issue_coupon(db, 9999, Offer(OfferKind.PERCENT_OFF, percent=5), staff_id=None,
                     actor="t")
    usd_store = make_store(db, "USD")
    with pytest.raises(InvalidInput, match="sells in USD"):
        issue_coupon(db, shop.member_id, Offer(OfferKind.AMOUNT_OFF, amount_minor=5,
                                               currency="AED", store_id=usd_store.id),
                     staff_id=None, actor="t")
    now = utcnow()
    with pytest.raises(InvalidInput, match="after valid_from"):
        issue_coupon(db, shop.member_id, Offer(OfferKind.PERCENT_OFF, percent=5),
                     staff_id=None, actor="t", valid_from=now, valid_to=now)


def test_price_accepts_any_spelling_and_prices_the_lines(db, shop):
    coupon = give(db, shop, percent=10)
    typed = display_code(coupon.code).lower().replace("-", " ")
    outcome = _price(db, shop, [typed])
    assert [c.id for c in outcome.coupons] == [coupon.id]
    assert outcome.line_discounts == {1: 130, 2: 40}
    assert outcome.discount_minor == 170
    db.expire_all()
    assert db.get(Coupon, coupon.id).status == CouponStatus.ISSUED  # no side effects


def test_unknown_and_malformed_codes_never_echo_the_input(db, shop):
    with pytest.raises(CouponRefused) as exc:
        _price(db, shop, ["4111 1111 1111 1111"])  # a payment card number, typed by mistake
    assert exc.value.reason == "unknown"
    assert "4111" not in str(exc.value.detail) + repr(exc.value.extra)
    real = give(db, shop)
    other = real.code[:-2] + ("0" if real.code[-2] != "0" else "1")
    lookalike = other + check_symbol(other)  # well-formed, but no such coupon
    with pytest.raises(CouponRefused) as exc:
        _price(db, shop, [lookalike])
    assert exc.value.reason == "unknown"
    assert "coupon_code" not in exc.value.extra


def test_the_same_coupon_twice_is_refused(db, shop):
    coupon = give(db, shop)
    with pytest.raises(CouponRefused) as exc:
        _price(db, shop, [coupon.code, display_code(coupon.code)])
    assert exc.value.reason == "duplicate"


def test_refusals_through_the_database(db, shop, other_member):
    theirs = give(db, shop, member_id=other_member.id)
    later = give(db, shop, valid_from=utcnow() + dt.timedelta(days=2))
    old = give(db, shop, valid_from=utcnow() - dt.timedelta(days=40),
               valid_to=utcnow() - dt.timedelta(days=1))
    elsewhere = give(db, shop, store_id=make_store(db, "AED").id)
    dear = give(db, shop, min_spend_minor=5000, currency="AED")
    for coupon, expected in ((theirs, "not_yours"), (later, "not_yet_valid"), (old, "expired"),
                             (elsewhere, "wrong_store"), (dear, "minimum_not_met")):
        with pytest.raises(CouponRefused) as exc:
            _price(db, shop, [coupon.code])
        assert exc.value.reason == expected
        assert exc.value.extra["coupon_code"] == coupon.code


def test_redeem_marks_the_coupon_used_by_the_basket(db, shop):
    coupon = give(db, shop)
    basket_id = _basket(db, shop)
    at = utcnow()
    redeem_coupons(db, _price(db, shop, [coupon.code]).coupons, basket_id, at)
    db.commit()
    db.expire_all()
    row = db.get(Coupon, coupon.id)
    assert (row.status, row.redeemed_basket_id) == (CouponStatus.REDEEMED, basket_id)
    with pytest.raises(CouponRefused) as exc:
        _price(db, shop, [coupon.code])
    assert exc.value.reason == "used"


def test_a_stale_copy_loses_to_the_conditional_update(app, db, shop):
    """The check in price_coupons passed, then someone else used the coupon: still refused."""
    coupon = give(db, shop)
    basket_id = _basket(db, shop)
    factory = app.extensions["loyalty.db"].session_factory
    with factory() as late:
        stale = _price(late, shop, [coupon.code]).coupons  # saw it "issued"
        late.commit()  # end the read transaction (SQLite would otherwise hold the lock)
        with factory() as first:
            redeem_coupons(first, _price(first, shop, [coupon.code]).coupons, basket_id, utcnow())
            first.commit()
        with pytest.raises(CouponRefused) as exc:
            redeem_coupons(late, stale, basket_id, utcnow())
        assert exc.value.reason == "used"
        late.rollback()


def test_full_return_within_validity_gives_the_coupon_back(db, shop):
    coupon = give(db, shop)
    basket_id = _basket(db, shop)
    redeem_coupons(db, [coupon], basket_id, utcnow())
    assert restore_coupons_for_return(db, basket_id, False, utcnow()) == []  # partial
    assert db.get(Coupon, coupon.id).status == CouponStatus.REDEEMED
    restored = restore_coupons_for_return(db, basket_id, True, utcnow())
    db.commit()
    db.expire_all()
    assert [c.id for c in restored] == [coupon.id]
    row = db.get(Coupon, coupon.id)
    assert (row.status, row.redeemed_basket_id, row.redeemed_at) == (
        CouponStatus.ISSUED, None, None)
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "coupon.restore"))
    assert event.detail == {"coupon_code": coupon.code, "basket_id": basket_id}
    assert _price(db, shop, [coupon.code]).coupons  # usable again


def test_full_return_after_expiry_keeps_the_coupon_used(db, shop):
    coupon = give(db, shop, valid_to=utcnow() + dt.timedelta(hours=1))
    basket_id = _basket(db, shop)
    redeem_coupons(db, [coupon], basket_id, utcnow())
    assert restore_coupons_for_return(db, basket_id, True, coupon.valid_to) == []
    db.commit()
    db.expire_all()
    assert db.get(Coupon, coupon.id).status == CouponStatus.REDEEMED
    assert db.scalar(select(AuditEvent.action).where(
        AuditEvent.action == "coupon.not_restored")) == "coupon.not_restored"


def test_active_coupons_are_issued_current_and_for_this_store(db, shop, other_member):
    now = utcnow()
    here = give(db, shop, store_id=shop.store_id, valid_to=now + dt.timedelta(days=2))
    anywhere = give(db, shop, valid_to=now + dt.timedelta(days=5))
    elsewhere = give(db, shop, store_id=make_store(db, "AED").id)
    give(db, shop, valid_from=now + dt.timedelta(days=1))  # not yet
    give(db, shop, valid_from=now - dt.timedelta(days=9), valid_to=now)  # expired
    give(db, shop, member_id=other_member.id)  # someone else's
    used = give(db, shop)
    redeem_coupons(db, [used], _basket(db, shop), now)
    db.commit()
    assert [c.id for c in active_coupons(db, shop.member_id, now, shop.store_id)] == [
        here.id, anywhere.id]
    assert {c.id for c in active_coupons(db, shop.member_id, now)} == {
        here.id, anywhere.id, elsewhere.id}
