"""Trust and limits on what a till sends (issue 8, section 5), through HTTP on both databases.

A till's prices are the sale's truth, but not without limit: a basket may earn at most
``max_points_per_basket``; amounts are bounded so nothing overflows a column; a line priced far
from the catalog is flagged; SKUs the catalog does not know are counted.  ``"offline": true``
waives checks, so only a till may send it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from sqlalchemy import event, func, select

from loyalty.baskets.models import Basket
from loyalty.catalog.models import Product, UnknownSku
from loyalty.db import utcnow
from loyalty.ledger.models import Account, Entry, ReviewFlag
from loyalty.staff.models import Role
from loyalty.stores.models import Store
from tests.checkout.conftest import Shop, basket, commit
from tests.factories import auth, invoke_cli, staff_token

INT32 = 2**31 - 1  # the INTEGER columns of basket and basket_line on PostgreSQL
AN_HOUR_AGO = utcnow() - dt.timedelta(hours=1)


def quote(client, shop: Shop, body: dict):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/checkouts/quote", json=body, headers=shop.till)


def counts(db) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    db.expire_all()
    found = tuple(db.scalar(select(func.count()).select_from(m))
                  for m in (Basket, Entry, ReviewFlag))
    db.rollback()  # SQLite: let go of the database before the next request writes
    return found  # type: ignore[return-value]


def balance(db, member_id: int) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    value = db.scalar(select(Account.balance).where(Account.member_id == member_id))
    db.rollback()
    return value


def price_flags(db) -> list[tuple[int | None, str]]:  # type: ignore[no-untyped-def]
    db.expire_all()
    found = db.execute(select(ReviewFlag.basket_id, ReviewFlag.detail)
                       .where(ReviewFlag.reason == "price_departs_from_catalog")
                       .order_by(ReviewFlag.id)).all()
    db.rollback()
    return [tuple(row) for row in found]


# --- "offline": true is a till's word only -----------------------------------------------


def _offline(shop: Shop) -> dict:
    return basket(shop, offline=True, occurred_at=AN_HOUR_AGO.isoformat())


@pytest.mark.parametrize("role", [Role.CASHIER, Role.ADMIN])
def test_staff_cannot_send_an_offline_sale(client, db, shop, role):
    store = db.get(Store, shop.store_id)
    headers = auth(staff_token(db, role, store if role == Role.CASHIER else None))
    db.commit()
    body = {**_offline(shop), "store_id": shop.store_id}
    before = counts(db)
    for path in ("/api/v1/checkouts", "/api/v1/checkouts/quote"):
        resp = client.post(path, json=body, headers={**headers, "Idempotency-Key": "off"})
        assert resp.status_code == 403, resp.json
        assert resp.mimetype == "application/problem+json"
        assert resp.json["code"] == "offline_sale_needs_till"
    # Replaying an outbox in a batch is a till's alone, offline items or not.
    batch = client.post("/api/v1/checkouts/batch", headers=headers,
                        json={"checkouts": [{"idempotency_key": "b1", "body": body}]})
    assert batch.status_code == 403 and batch.mimetype == "application/problem+json"
    assert counts(db) == before
    # The same person may sell online; the same offline sale from the till is kept.
    online = client.post("/api/v1/checkouts", json={**basket(shop), "store_id": shop.store_id},
                         headers={**headers, "Idempotency-Key": "on"})
    assert online.status_code == 201, online.json
    assert commit(client, shop, _offline(shop), "till-offline").status_code == 201


# --- the points cap ----------------------------------------------------------------------


def _tv(quantity: int, unit_price_minor: int) -> list[dict]:
    """An unknown SKU: earns at the base rule, one point per AED, no catalog price to flag."""
    return [{"sku": "TV-85", "quantity": quantity, "unit_price_minor": unit_price_minor}]


def test_a_basket_earning_up_to_the_cap_is_kept(client, db, shop, settings):
    assert settings.max_points_per_basket == 200_000  # the default documented in POINTS.md
    resp = commit(client, shop, basket(shop, _tv(10, 2_000_000)), "at-cap")  # 200,000 AED
    assert resp.status_code == 201, resp.json
    assert resp.json["points_earned"] == 200_000
    assert balance(db, shop.member_id) == 200_000


def test_a_basket_earning_above_the_cap_is_refused_at_quote_and_commit(client, db, shop):
    body = basket(shop, _tv(10, 2_000_100))  # 200,010 AED: 200,010 points
    before = counts(db)
    for resp in (quote(client, shop, body), commit(client, shop, body, "over-cap")):
        assert resp.status_code == 422, resp.json
        assert resp.mimetype == "application/problem+json"
        assert resp.json["code"] == "points_cap_exceeded"
        assert resp.json["cap"] == 200_000 and resp.json["points"] == 200_010
    assert counts(db) == before
    assert balance(db, shop.member_id) == 0


def test_the_cap_is_a_setting_and_binds_offline_sales_too(db, shop, settings):
    from loyalty.app import create_app

    app = create_app(replace(settings, max_points_per_basket=20))
    try:
        client = app.test_client()
        line = [{"sku": "MILK", "quantity": 3, "unit_price_minor": 650}]  # 19.50 AED: 19 points
        assert commit(client, shop, basket(shop, line), "under").status_code == 201
        more = [{"sku": "MILK", "quantity": 4, "unit_price_minor": 650}]  # 26 points
        resp = commit(client, shop, basket(shop, more, offline=True,
                                           occurred_at=AN_HOUR_AGO.isoformat()), "over")
        assert resp.status_code == 422 and resp.json["code"] == "points_cap_exceeded"
    finally:
        app.extensions["loyalty.db"].engine.dispose()


# --- amounts bounded: nothing overflows a column or a 64-bit integer ----------------------


BIG = 2**63
TOO_BIG = {
    # The example: 10,000 units at 1,000,000 AED each.
    "10,000 x 1,000,000 AED": [{"sku": "MILK", "quantity": 10_000,
                                "unit_price_minor": 100_000_000}],
    "line over the column": [{"sku": "MILK", "quantity": 10_000, "unit_price_minor": 214_749}],
    "subtotal over the column": [{"sku": "CIGS", "quantity": 11, "unit_price_minor": 100_000_000},
                                 {"sku": "CIGS", "quantity": 11, "unit_price_minor": 100_000_000}],
    "quantity of 2^63": [{"sku": "MILK", "quantity": BIG, "unit_price_minor": 650}],
    "price of 2^63": [{"sku": "MILK", "quantity": 1, "unit_price_minor": BIG}],
    "discount of 2^63": [{"sku": "MILK", "quantity": 1, "unit_price_minor": 650,
                          "discount_minor": BIG}],
    "price of 2^64 + 650": [{"sku": "MILK", "quantity": 1, "unit_price_minor": 2**64 + 650}],
}


@pytest.mark.parametrize("case", sorted(TOO_BIG))
def test_amounts_beyond_what_a_sale_may_hold_are_refused(client, db, shop, case):
    before = counts(db)
    body = basket(shop, TOO_BIG[case])
    for resp in (quote(client, shop, body), commit(client, shop, body, f"big-{case}")):
        assert resp.status_code == 422, resp.json
        assert resp.mimetype == "application/problem+json"
        assert resp.json["code"] == "invalid_input"
    assert counts(db) == before


def test_points_to_redeem_of_2_to_the_63_are_refused(client, db, shop):
    resp = commit(client, shop, basket(shop, redeem_points=BIG), "redeem-big")
    assert resp.status_code == 422, resp.json
    # refused by the shared int32 field, before the redemption rules are asked
    assert resp.json["code"] == "invalid_input"
    assert "redeem_points" in resp.json["errors"]["json"], resp.json


def test_a_basket_of_exactly_the_largest_amount_is_stored(client, db, shop):
    # Tobacco earns nothing, so the points cap stays out of the way of the money bound.
    lines = [{"sku": "CIGS", "quantity": 21, "unit_price_minor": 100_000_000},
             {"sku": "CIGS", "quantity": 1, "unit_price_minor": INT32 - 2_100_000_000}]
    resp = commit(client, shop, basket(shop, lines), "largest")
    assert resp.status_code == 201, resp.json
    db.expire_all()
    stored = db.get(Basket, resp.json["basket_id"])
    assert (stored.subtotal_minor, stored.payable_minor) == (INT32, INT32)
    db.rollback()
    over = [*lines[:1], {**lines[1], "unit_price_minor": lines[1]["unit_price_minor"] + 1}]
    assert commit(client, shop, basket(shop, over), "largest+1").status_code == 422


# --- prices far from the catalog's are flagged, not refused --------------------------------


def test_a_line_priced_beyond_the_tolerance_is_flagged_for_review(client, db, shop, settings):
    assert settings.price_tolerance_percent == 20  # MILK is 6.50 AED, BREAD 4.00 AED
    within = [{"sku": "MILK", "quantity": 1, "unit_price_minor": 780},  # +20%
              {"sku": "BREAD", "quantity": 1, "unit_price_minor": 320}]  # -20%
    assert commit(client, shop, basket(shop, within), "within").status_code == 201
    assert price_flags(db) == []
    beyond = [{"sku": "MILK", "quantity": 2, "unit_price_minor": 781},  # +20.15%
              {"sku": "BREAD", "quantity": 1, "unit_price_minor": 400},
              {"sku": "BREAD", "quantity": 1, "unit_price_minor": 1}]
    resp = commit(client, shop, basket(shop, beyond), "beyond")
    assert resp.status_code == 201, resp.json  # the till's price is the sale's truth
    assert resp.json["points_earned"] == 19  # 19.63 AED paid, at the till's prices
    basket_id = resp.json["basket_id"]
    assert price_flags(db) == [
        (basket_id, "line 1: MILK sold at 781, catalog price 650 (+20%)"),
        (basket_id, "line 3: BREAD sold at 1, catalog price 400 (-100%)"),
    ]


def test_a_quote_flags_nothing(client, db, shop):
    far = [{"sku": "MILK", "quantity": 1, "unit_price_minor": 6_500}]
    assert quote(client, shop, basket(shop, far)).status_code == 200
    assert price_flags(db) == []


# --- SKUs the catalog does not know are kept and counted ----------------------------------


def _unknown(db) -> dict[str, tuple[int, int, dt.datetime, dt.datetime]]:  # type: ignore[no-untyped-def]
    db.expire_all()
    rows = {u.sku: (u.lines_seen, u.units_sold, u.first_seen_at, u.last_seen_at)
            for u in db.scalars(select(UnknownSku))}
    db.rollback()
    return rows


def test_unknown_skus_are_kept_counted_and_listed_for_the_catalog_team(app, client, db, shop):
    first = [{"sku": "NEW-1", "quantity": 2, "unit_price_minor": 100},
             {"sku": "MILK", "quantity": 1, "unit_price_minor": 650},
             {"sku": "NEW-2", "quantity": 3, "unit_price_minor": 100},
             {"sku": "NEW-1", "quantity": 1, "unit_price_minor": 100}]
    now = commit(client, shop, basket(shop, first), "first")
    assert now.status_code == 201, now.json
    assert now.json["points_earned"] == 12  # unknown SKUs earn at the base rule
    # A sale made offline an hour earlier arrives later: first seen moves back, last stays.
    late = basket(shop, [{"sku": "NEW-1", "quantity": 5, "unit_price_minor": 100}],
                  offline=True, occurred_at=AN_HOUR_AGO.isoformat())
    assert commit(client, shop, late, "late").status_code == 201
    sold_at = dt.datetime.fromisoformat(now.json["occurred_at"])
    seen = _unknown(db)
    assert set(seen) == {"NEW-1", "NEW-2"}
    assert seen["NEW-1"] == (3, 8, AN_HOUR_AGO, sold_at)
    assert seen["NEW-2"] == (1, 3, sold_at, sold_at)

    code = db.scalar(select(Store.code).where(Store.id == shop.store_id))
    db.rollback()
    listed = invoke_cli(app, ["catalog", "unknown-skus"])
    assert listed.exit_code == 0, listed.output
    rows = [line.split() for line in listed.output.splitlines()[1:]]
    assert [row[:4] for row in rows] == [[code, "NEW-1", "3", "8"], [code, "NEW-2", "1", "3"]]

    # Once the catalog has it, a SKU drops off the list.
    db.add(Product(sku="NEW-2", name="New two", category_id=shop.grocery_id, price_minor=100,
                   currency="AED"))
    db.commit()
    listed = invoke_cli(app, ["catalog", "unknown-skus"])
    assert [line.split()[1] for line in listed.output.splitlines()[1:]] == ["NEW-1"]


def test_no_unknown_skus_says_so(app, shop):
    listed = invoke_cli(app, ["catalog", "unknown-skus"])
    assert listed.exit_code == 0
    assert "no unknown SKUs" in listed.output


def test_a_plain_sale_writes_no_flag_and_counts_no_sku(app, client, shop):
    """The hot path pays nothing for these checks: known SKUs near their price, no statement."""
    engine = app.extensions["loyalty.db"].engine
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if "review_flag" in statement or "unknown_sku" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        assert commit(client, shop, basket(shop), "plain").status_code == 201
        unknown = [{"sku": "NEW-9", "quantity": 1, "unit_price_minor": 100}]
        assert commit(client, shop, basket(shop, unknown), "unknown").status_code == 201
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert len(seen) == 1 and "unknown_sku" in seen[0]


def test_tills_racing_on_the_same_unknown_skus_all_sell_and_all_count(app, db, shop, settings):
    """Eight members' sales at once, naming the same new SKUs in opposite orders: the upsert
    neither loses a count nor deadlocks (rows are taken in SKU order)."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.factories import make_member

    cards = [make_member(db, settings, name=f"Racer {n}")[1].number for n in range(8)]
    db.commit()
    lines = [{"sku": "RACE-B", "quantity": 1, "unit_price_minor": 100},
             {"sku": "RACE-A", "quantity": 2, "unit_price_minor": 100}]

    def sell(n: int):  # type: ignore[no-untyped-def]
        body = basket(shop, lines if n % 2 else lines[::-1], card_number=cards[n])
        with app.test_client() as c:
            return c.post("/api/v1/checkouts", json=body,
                          headers={**shop.till, "Idempotency-Key": f"race-{n}"})

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = [r.status_code for r in pool.map(sell, range(8))]
    assert statuses == [201] * 8
    seen = _unknown(db)
    assert {sku: counts[:2] for sku, counts in seen.items()} == {"RACE-A": (8, 16),
                                                                  "RACE-B": (8, 8)}
