"""Points-multiplier coupons through HTTP: issued by a marketer, priced and committed at the
till, reversed by a full return; bad offers are 422s that write nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from loyalty.coupons.models import Coupon
from tests.coupons.conftest import basket, commit
from tests.factories import auth, staff_token


@pytest.fixture
def marketer(db):  # type: ignore[no-untyped-def]
    token = staff_token(db, "marketer")
    db.commit()
    return auth(token)


def _issue(client, headers, member_id, **offer):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/coupons", json={"member_id": member_id,
                                                "kind": "points_multiplier", **offer},
                       headers=headers)


def test_double_points_on_the_basket(client, db, shop, marketer):
    issued = _issue(client, marketer, shop.member_id, multiplier=2)
    assert issued.status_code == 201, issued.json
    assert issued.json["offer"] == {"kind": "points_multiplier", "multiplier": 2}
    body = basket(shop, coupon_codes=[issued.json["code"]])
    quote = client.post("/api/v1/checkouts/quote", json=body, headers=shop.till)
    assert quote.status_code == 200, quote.json
    # 17.00 AED at 1 point per AED: 17 earned, and 17 more from the coupon; nothing off.
    assert (quote.json["points_earned"], quote.json["bonus_points"]) == (17, 17)
    assert quote.json["coupon_discount_minor"] == 0
    sale = commit(client, shop, body, "sale-x2")
    assert sale.status_code == 201, sale.json
    assert (sale.json["points_earned"], sale.json["bonus_points"]) == (17, 17)
    assert sale.json["coupons_redeemed"] == [issued.json["code"]]


def test_a_category_multiplier_counts_only_its_lines_and_a_return_reverses_it(
        client, db, shop, marketer):
    issued = _issue(client, marketer, shop.member_id, multiplier=3, category_id=shop.grocery_id)
    assert issued.status_code == 201, issued.json
    lines = [{"sku": "MILK", "quantity": 2, "unit_price_minor": 650},   # grocery: 13 points
             {"sku": "NEWSPAPER", "quantity": 1, "unit_price_minor": 500}]  # not in it: 5
    sale = commit(client, shop, basket(shop, lines, coupon_codes=[issued.json["code"]]), "s")
    assert sale.status_code == 201, sale.json
    assert (sale.json["points_earned"], sale.json["bonus_points"]) == (18, 26)  # 2 x 13 extra
    before = sale.json["balance_after"]
    back = client.post("/api/v1/returns",
                       json={"basket_id": sale.json["basket_id"],
                             "lines": [{"line_no": 1, "quantity": 2},
                                       {"line_no": 2, "quantity": 1}]},
                       headers={**shop.till, "Idempotency-Key": "r"})
    assert back.status_code == 201, back.json
    assert back.json["points_reversed"] == 18 + 26
    assert back.json["balance_after"] == before - 44
    assert back.json["coupons_restored"] == [issued.json["code"]]


def test_a_multiplier_on_lines_that_earn_nothing_gives_nothing(client, db, shop, marketer):
    issued = _issue(client, marketer, shop.member_id, multiplier=5, category_id=shop.tobacco_id)
    lines = [{"sku": "CIGS", "quantity": 1, "unit_price_minor": 2500},
             {"sku": "MILK", "quantity": 1, "unit_price_minor": 650}]
    quote = client.post("/api/v1/checkouts/quote",
                        json=basket(shop, lines, coupon_codes=[issued.json["code"]]),
                        headers=shop.till)
    assert quote.status_code == 200, quote.json
    assert (quote.json["points_earned"], quote.json["bonus_points"]) == (6, 0)


@pytest.mark.parametrize("offer", [
    {"multiplier": 1}, {"multiplier": 11}, {}, {"multiplier": 2, "percent": 10},
    {"multiplier": "2"}, {"kind": "percent_off", "percent": 10, "multiplier": 2},
])
def test_bad_multiplier_offers_get_422_and_write_nothing(client, db, shop, marketer, offer):
    answer = _issue(client, marketer, shop.member_id, **offer)
    assert answer.status_code == 422, answer.json
    assert answer.mimetype == "application/problem+json"
    assert db.scalar(select(Coupon.id)) is None


def test_the_multiplied_points_count_towards_the_basket_cap(client, db, shop, marketer):
    # 120,000 AED earns 120,000 points, within the 200,000 cap; doubled it would not be.
    issued = _issue(client, marketer, shop.member_id, multiplier=2)
    lines = [{"sku": "TV", "quantity": 10, "unit_price_minor": 1_200_000}]
    body = basket(shop, lines, coupon_codes=[issued.json["code"]])
    answer = client.post("/api/v1/checkouts/quote", json=body, headers=shop.till)
    assert answer.status_code == 422, answer.json
    assert answer.json["code"] == "points_cap_exceeded"
    assert (answer.json["cap"], answer.json["points"]) == (200_000, 240_000)
    refused = commit(client, shop, body, "over-cap")
    assert refused.status_code == 422 and refused.json["code"] == "points_cap_exceeded"
    db.expire_all()
    assert db.scalar(select(Coupon.status)) == "issued"
