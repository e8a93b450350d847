"""Concurrent tills against one member, on the database under test (run on both)."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from loyalty.baskets.models import Basket
from loyalty.ledger.models import Account, Entry, Posting
from tests.checkout.conftest import basket, give_points


def _parallel(app, calls):  # type: ignore[no-untyped-def]
    def run(call):  # type: ignore[no-untyped-def]
        with app.test_client() as c:
            return call(c)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_50_concurrent_redemptions_of_10_from_100(app, db, shop):
    give_points(db, shop.member_id, 100)
    db.commit()
    # Lines worth 1.00 AED earn 1 point each; earn nothing so the arithmetic stays exact.
    body = basket(shop, [{"sku": "X", "quantity": 1, "unit_price_minor": 10}], redeem_points=10)

    def redeem(n: int):  # type: ignore[no-untyped-def]
        return lambda c: c.post("/api/v1/checkouts", json=body,
                                headers={**shop.till, "Idempotency-Key": f"r{n}"})

    results = _parallel(app, [redeem(n) for n in range(50)])
    statuses = Counter(r.status_code for r in results)
    assert statuses == {201: 10, 409: 40}, statuses
    assert {r.json["code"] for r in results if r.status_code == 409} == {"insufficient_points"}
    db.expire_all()
    account = db.scalar(select(Account).where(Account.member_id == shop.member_id))
    assert account.balance == 0
    assert db.scalar(select(func.sum(Entry.amount)).where(Entry.account_id == account.id)) == 0
    assert min(r.json["balance_after"] for r in results if r.status_code == 201) == 0


def test_20_identical_commits_in_parallel_make_one_basket(app, db, shop):
    body = basket(shop)

    def same(c):  # type: ignore[no-untyped-def]
        return c.post("/api/v1/checkouts", json=body,
                      headers={**shop.till, "Idempotency-Key": "one-sale"})

    results = _parallel(app, [same] * 20)
    statuses = Counter(r.status_code for r in results)
    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] >= 1
    created = {r.json["basket_id"] for r in results if r.status_code == 201}
    assert len(created) == 1  # every success is the same sale, replayed
    assert db.scalar(select(func.count()).select_from(Basket)) == 1
    assert db.scalar(select(func.count()).select_from(Posting)) == 1
