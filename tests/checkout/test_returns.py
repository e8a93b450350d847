"""Returns: pro-rata reversal, give-back of redeemed points, negative balances flagged."""

from __future__ import annotations

from sqlalchemy import func, select

from loyalty.ledger.models import Account, ReviewFlag
from tests.checkout.conftest import basket, commit, give_points

LINES = [{"sku": "MILK", "quantity": 3, "unit_price_minor": 1000},
         {"sku": "BREAD", "quantity": 1, "unit_price_minor": 1000}]


def send_return(client, shop, basket_id, lines, key):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/returns", json={"basket_id": basket_id, "lines": lines},
                       headers={**shop.till, "Idempotency-Key": key})


def bal(db, member_id):  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(Account.balance).where(Account.member_id == member_id))


def test_partial_returns_reverse_pro_rata_and_never_exceed_earned(client, db, shop):
    sale = commit(client, shop, basket(shop, LINES), "sale").json
    assert sale["points_earned"] == 40
    reversed_total = 0
    for n in range(3):  # three single milks, one at a time
        r = send_return(client, shop, sale["basket_id"], [{"line_no": 1, "quantity": 1}],
                        f"ret{n}")
        assert r.status_code == 201, r.json
        reversed_total += r.json["points_reversed"]
    assert reversed_total == 30
    r = send_return(client, shop, sale["basket_id"], [{"line_no": 1, "quantity": 1}], "ret9")
    assert r.status_code == 422 and r.json["code"] == "return_exceeds_sale"
    assert bal(db, shop.member_id) == 10


def test_redeemed_points_come_back_pro_rata(client, db, shop):
    give_points(db, shop.member_id, 1000)
    db.commit()
    sale = commit(client, shop, basket(shop, LINES, redeem_points=1000), "sale").json
    assert sale["payable_minor"] == 3000 and sale["points_earned"] == 30
    r = send_return(client, shop, sale["basket_id"],
                    [{"line_no": 1, "quantity": 3}, {"line_no": 2, "quantity": 1}], "ret").json
    assert r["points_refunded"] == 1000
    assert r["points_reversed"] == 30
    assert r["refund_minor"] == 3000  # money back is what was paid in money
    assert bal(db, shop.member_id) == 1000


def test_same_return_twice_changes_nothing(client, db, shop):
    sale = commit(client, shop, basket(shop, LINES), "sale").json
    first = send_return(client, shop, sale["basket_id"], [{"line_no": 2, "quantity": 1}], "r")
    again = send_return(client, shop, sale["basket_id"], [{"line_no": 2, "quantity": 1}], "r")
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert bal(db, shop.member_id) == 30


def test_return_after_spending_goes_negative_and_is_flagged(client, db, shop):
    sale = commit(client, shop, basket(shop, LINES), "sale").json  # earns 40
    spend = basket(shop, [{"sku": "BREAD", "quantity": 1, "unit_price_minor": 40}],
                   redeem_points=40)
    assert commit(client, shop, spend, "spend").status_code == 201
    r = send_return(client, shop, sale["basket_id"],
                    [{"line_no": 1, "quantity": 3}, {"line_no": 2, "quantity": 1}], "ret").json
    assert r["points_reversed"] == 40
    assert r["flagged_for_review"] is True
    assert bal(db, shop.member_id) == -40  # the spend basket was paid all in points
    flags = db.scalar(select(func.count()).select_from(ReviewFlag)
                      .where(ReviewFlag.member_id == shop.member_id,
                             ReviewFlag.reason == "negative_balance"))
    assert flags == 1


def test_return_of_unknown_line_or_basket_is_refused(client, db, shop):
    sale = commit(client, shop, basket(shop, LINES), "sale").json
    r = send_return(client, shop, sale["basket_id"], [{"line_no": 7, "quantity": 1}], "a")
    assert r.status_code == 422
    r = send_return(client, shop, 999_999, [{"line_no": 1, "quantity": 1}], "b")
    assert r.status_code == 404
    assert bal(db, shop.member_id) == 40
