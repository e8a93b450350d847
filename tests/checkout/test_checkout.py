"""Quote and commit through the API, as a till does."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from loyalty.baskets.models import Basket
from loyalty.db import utcnow
from loyalty.ledger.models import Account, Entry, Posting
from loyalty.rules.models import RuleKind
from loyalty.rules.services import add_earning_rule
from tests.checkout.conftest import basket, commit, give_points


def balance(db, member_id: int) -> int:
    db.expire_all()
    return db.scalar(select(Account.balance).where(Account.member_id == member_id))


def test_quote_has_no_side_effects_and_prices_points(client, db, shop):
    give_points(db, shop.member_id, 500)
    db.commit()
    resp = client.post("/api/v1/checkouts/quote", json=basket(shop), headers=shop.till)
    assert resp.status_code == 200, resp.json
    q = resp.json
    assert q["subtotal_minor"] == 1700
    assert q["points_earned"] == 17  # 17.00 AED at 1 point per AED
    assert q["max_redeemable_points"] == 500  # balance-bound: 500 points = 5.00 AED
    assert q["max_redeemable_value_minor"] == 500
    assert db.scalar(select(func.count()).select_from(Basket)) == 0
    assert balance(db, shop.member_id) == 500


def test_commit_earns_and_redeems_partially(client, db, shop):
    give_points(db, shop.member_id, 300)
    db.commit()
    resp = commit(client, shop, basket(shop, redeem_points=200), "k1")
    assert resp.status_code == 201, resp.json
    r = resp.json
    assert r["points_redeemed"] == 200
    assert r["payable_minor"] == 1500
    assert r["points_earned"] == 15  # earned on what was paid in money
    assert r["balance_after"] == 300 - 200 + 15
    assert balance(db, shop.member_id) == 115
    # every posting balances
    sums = db.execute(select(Entry.posting_id, func.sum(Entry.amount)).group_by(Entry.posting_id))
    assert all(total == 0 for _pid, total in sums)


def test_exclusions_and_minimum_rounding(client, db, shop):
    lines = [{"sku": "CIGS", "quantity": 1, "unit_price_minor": 2500},
             {"sku": "MILK", "quantity": 1, "unit_price_minor": 199}]
    q = client.post("/api/v1/checkouts/quote", json=basket(shop, lines), headers=shop.till).json
    assert q["points_earned"] == 1  # tobacco earns nothing; 1.99 AED rounds down once


def test_redeeming_more_than_balance_is_409(client, db, shop):
    give_points(db, shop.member_id, 10)
    db.commit()
    resp = commit(client, shop, basket(shop, redeem_points=11), "k2")
    assert resp.status_code == 409
    assert resp.json["code"] == "insufficient_points"
    assert resp.mimetype == "application/problem+json"
    assert db.scalar(select(func.count()).select_from(Basket)) == 0


def test_redeeming_more_than_basket_is_refused(client, db, shop):
    give_points(db, shop.member_id, 10_000)
    db.commit()
    resp = commit(client, shop, basket(shop, redeem_points=1701), "k3")
    assert resp.status_code == 422
    assert resp.json["code"] == "redemption_too_large"


def test_offline_sale_earns_under_rules_in_force_then(client, db, shop):
    yesterday = utcnow() - dt.timedelta(days=1)
    # A double-points weekend ended an hour ago; the sale happened yesterday, during it.
    add_earning_rule(db, "double points", RuleKind.BASE, points_per_unit=2,
                     valid_from=yesterday - dt.timedelta(days=1),
                     valid_to=utcnow() - dt.timedelta(hours=1))
    db.commit()
    late = commit(client, shop, basket(shop, occurred_at=yesterday.isoformat()), "offline-1")
    now = commit(client, shop, basket(shop), "online-1")
    assert late.status_code == now.status_code == 201
    assert late.json["points_earned"] == 34
    assert now.json["points_earned"] == 17


class TestIdempotency:
    def test_missing_key_is_400(self, client, shop):
        resp = client.post("/api/v1/checkouts", json=basket(shop), headers=shop.till)
        assert resp.status_code == 400
        assert resp.json["code"] == "idempotency_key_missing"

    def test_same_key_same_body_replays_without_writing(self, client, db, shop):
        first = commit(client, shop, basket(shop), "same")
        second = commit(client, shop, basket(shop), "same")
        assert first.status_code == second.status_code == 201
        assert second.json == first.json
        assert second.headers.get("Idempotent-Replayed") == "true"
        assert db.scalar(select(func.count()).select_from(Basket)) == 1
        assert db.scalar(select(func.count()).select_from(Posting)) == 1

    def test_same_key_other_body_is_422(self, client, db, shop):
        assert commit(client, shop, basket(shop), "k").status_code == 201
        other = basket(shop, [{"sku": "MILK", "quantity": 9, "unit_price_minor": 650}])
        resp = commit(client, shop, other, "k")
        assert resp.status_code == 422
        assert resp.json["code"] == "idempotency_key_reused"
        assert db.scalar(select(func.count()).select_from(Basket)) == 1

    def test_failed_request_releases_its_key(self, client, db, shop):
        assert commit(client, shop, basket(shop, redeem_points=5), "retry").status_code == 409
        give_points(db, shop.member_id, 5)
        db.commit()
        assert commit(client, shop, basket(shop, redeem_points=5), "retry").status_code == 201

    def test_duplicate_in_flight_is_409(self, app, client, db, shop):
        import datetime as dt

        from loyalty.idempotency.services import claim_key, fingerprint

        body = basket(shop)
        import json as _json

        raw = _json.dumps(body).encode()
        till_actor = _till_actor(db)
        db.rollback()  # end the read: SQLite writers wait for open transactions
        claim_key(app.extensions["loyalty.db"].session_factory, till_actor, "busy",
                  fingerprint("POST", "/api/v1/checkouts", raw), dt.timedelta(seconds=60))
        resp = commit(client, shop, body, "busy")
        assert resp.status_code == 409
        assert resp.json["code"] == "request_in_flight"


def _till_actor(db) -> str:
    from loyalty.stores.models import Till

    return f"till:{db.scalar(select(Till.id))}"
