"""Single use under concurrency: of 50 simultaneous redemptions of one code, exactly 1 wins.

Runs on the database under test (SQLite by default, PostgreSQL with LOYALTY_TEST_DATABASE_URL).
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from loyalty.baskets.models import Basket
from loyalty.coupons.models import Coupon, CouponStatus
from loyalty.coupons.services import find_coupon, redeem_coupons
from loyalty.db import utcnow
from loyalty.errors import CouponRefused
from tests.coupons.conftest import basket, give

N = 50


def test_50_concurrent_redemptions_of_one_code_give_exactly_one_success(app, db, shop):
    coupon = give(db, shop)
    baskets = [Basket(store_id=shop.store_id, member_id=shop.member_id, currency="AED",
                      subtotal_minor=100, payable_minor=100, occurred_at=utcnow())
               for _ in range(N)]
    db.add_all(baskets)
    db.commit()
    basket_ids = [b.id for b in baskets]
    factory = app.extensions["loyalty.db"].session_factory
    start = threading.Barrier(N)

    def attempt(n: int) -> str:
        start.wait()
        session = factory()
        try:
            # Each thread reads the coupon itself, then tries the conditional UPDATE.
            found = find_coupon(session, coupon.code)
            redeem_coupons(session, [found], basket_ids[n], utcnow())
            session.commit()
            return "redeemed"
        except CouponRefused as exc:
            session.rollback()
            return exc.reason
        finally:
            session.close()

    with ThreadPoolExecutor(max_workers=N) as pool:
        outcomes = Counter(pool.map(attempt, range(N)))
    assert outcomes == {"redeemed": 1, "used": N - 1}, outcomes
    db.expire_all()
    row = db.get(Coupon, coupon.id)
    assert row.status == CouponStatus.REDEEMED
    assert row.redeemed_basket_id in basket_ids


def test_50_concurrent_checkouts_with_one_coupon_make_one_sale(app, db, shop):
    coupon = give(db, shop)
    body = basket(shop, coupon_codes=[coupon.code])

    def checkout(n: int):  # type: ignore[no-untyped-def]
        with app.test_client() as client:
            return client.post("/api/v1/checkouts", json=body,
                               headers={**shop.till, "Idempotency-Key": f"c{n}"})

    with ThreadPoolExecutor(max_workers=N) as pool:
        answers = list(pool.map(checkout, range(N)))
    assert Counter(a.status_code for a in answers) == {201: 1, 422: N - 1}
    assert {a.json["reason"] for a in answers if a.status_code == 422} == {"used"}
    assert db.scalar(select(func.count()).select_from(Basket)) == 1
    winner = next(a for a in answers if a.status_code == 201)
    db.expire_all()
    assert db.get(Coupon, coupon.id).redeemed_basket_id == winner.json["basket_id"]
