"""POST /api/v1/checkouts/batch: each item answered as its own POST /checkouts (issue 3, §4)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from loyalty.baskets.models import Basket
from loyalty.db import Base
from loyalty.idempotency.models import IdempotencyRecord
from loyalty.idempotency.services import fingerprint
from loyalty.ledger.models import Entry
from loyalty.stores.models import Till
from tests.checkout.conftest import basket, commit, give_points
from tests.factories import StaffDesk

URL = "/api/v1/checkouts/batch"


def send(client, shop, items):  # type: ignore[no-untyped-def]
    """POST a batch of (key, body) pairs; the answer must be 200 with one result per item."""
    resp = client.post(URL, json={"checkouts": [{"idempotency_key": k, "body": b}
                                                for k, b in items]}, headers=shop.till)
    assert resp.status_code == 200, resp.json
    results = resp.json["results"]
    assert [r["idempotency_key"] for r in results] == [k for k, _ in items]
    return results


def counts(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Rows per table; ends its read so the app may write (SQLite has one writer)."""
    db.expire_all()
    found = {t.name: db.scalar(select(func.count()).select_from(t))
             for t in Base.metadata.sorted_tables}
    db.rollback()
    return found


def milk(quantity: int) -> list[dict]:
    return [{"sku": "MILK", "quantity": quantity, "unit_price_minor": 650}]


def test_items_commit_in_order_as_separate_sales(client, db, shop):
    items = [(f"k{n}", basket(shop, milk(n))) for n in (1, 2, 3)]
    results = send(client, shop, items)
    assert [r["status"] for r in results] == [201, 201, 201]
    assert [r["body"]["payable_minor"] for r in results] == [650, 1300, 1950]
    ids = [r["body"]["basket_id"] for r in results]
    assert ids == sorted(ids) and len(set(ids)) == 3
    # Balances follow one another: each sale saw the one before it.
    assert [r["body"]["balance_after"] for r in results] == [6, 6 + 13, 6 + 13 + 19]
    db.expire_all()
    assert db.scalars(select(Basket.payable_minor).order_by(Basket.id)).all() == [650, 1300, 1950]


def test_a_replayed_batch_writes_nothing_and_answers_the_same(client, db, shop):
    items = [(f"r{n}", basket(shop, milk(n))) for n in (1, 2)]
    first = send(client, shop, items)
    before = counts(db)
    again = send(client, shop, items)
    assert again == first
    assert counts(db) == before


def test_a_bad_item_gets_its_own_problem_and_its_neighbours_commit(client, db, shop):
    items = [
        ("good-1", basket(shop, milk(1))),
        ("short", basket(shop, redeem_points=50)),  # no points yet: 409 online
        ("absurd", basket(shop, milk(0))),  # fails the body's schema: 422 with the field
        ("stranger", basket(shop, card_number="9871000000000000")),
        ("good-2", basket(shop, milk(2))),
    ]
    results = send(client, shop, items)
    assert [r["status"] for r in results] == [201, 409, 422, 404, 201]
    assert results[1]["body"]["code"] == "insufficient_points"
    assert results[2]["body"]["code"] == "invalid_input"
    assert "lines" in results[2]["body"]["errors"]["json"]
    assert results[3]["body"]["code"] == "unknown_card"
    # A refusal that does not depend on the balance is the very problem its own POST
    # /checkouts gets (the item's 422 is built apart from flask-smorest's: compared whole).
    for (key, body), result in zip(items[2:4], results[2:4], strict=True):
        alone = commit(client, shop, body, f"alone-{key}")
        assert (alone.status_code, alone.json) == (result["status"], result["body"])
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Basket)) == 2
    # A refused item's key was released, as a lone POST's is: fixed, it may be sent again.
    keys = set(db.scalars(select(IdempotencyRecord.key)))
    assert keys == {"good-1", "good-2"}
    give_points(db, shop.member_id, 100)
    db.commit()
    assert send(client, shop, [items[1]])[0]["status"] == 201


def test_each_item_is_the_same_request_as_its_own_post(client, db, shop):
    body = basket(shop, milk(1))
    alone = commit(client, shop, body, "same")
    assert alone.status_code == 201
    result = send(client, shop, [("same", body)])[0]
    assert result == {"idempotency_key": "same", "status": 201, "body": alone.json}
    changed = send(client, shop, [("same", basket(shop, milk(2)))])[0]
    assert (changed["status"], changed["body"]["code"]) == (422, "idempotency_key_reused")
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Basket)) == 1


def test_a_key_in_flight_is_409_for_that_item_only(client, db, shop):
    body = basket(shop, milk(1))
    till_id = db.scalar(select(Till.id).where(Till.store_id == shop.store_id))
    db.add(IdempotencyRecord(scope=f"till:{till_id}", key="busy",
                             fingerprint=fingerprint("POST", "/api/v1/checkouts",
                                                     json.dumps(body).encode())))
    db.commit()
    results = send(client, shop, [("busy", body), ("free", body)])
    assert [r["status"] for r in results] == [409, 201]
    assert results[0]["body"]["code"] == "request_in_flight"


def good(shop, key: str = "ok") -> dict:  # type: ignore[no-untyped-def]
    return {"idempotency_key": key, "body": basket(shop)}


# Each envelope holds a good sale where it can: it must not slip through either.
ENVELOPES = {
    "not an object": lambda s: [good(s)],
    "no checkouts": lambda s: {},
    "checkouts not a list": lambda s: {"checkouts": good(s)},
    "empty": lambda s: {"checkouts": []},
    "101 items": lambda s: {"checkouts": [good(s, f"k{n}") for n in range(101)]},
    "missing key": lambda s: {"checkouts": [good(s), {"body": basket(s)}]},
    "blank key": lambda s: {"checkouts": [good(s), good(s, "   ")]},
    "key too long": lambda s: {"checkouts": [good(s), good(s, "k" * 201)]},
    "key not a string": lambda s: {"checkouts": [good(s), {**good(s), "idempotency_key": 7}]},
    "body not an object": lambda s: {"checkouts": [good(s), {**good(s, "b"), "body": [1]}]},
    "missing body": lambda s: {"checkouts": [good(s), {"idempotency_key": "b"}]},
    "unknown field": lambda s: {"checkouts": [good(s), {**good(s, "b"), "extra": 1}]},
}


@pytest.mark.parametrize("case", sorted(ENVELOPES))
def test_a_bad_envelope_is_refused_whole_and_writes_nothing(client, db, shop, case):
    resp = client.post(URL, json=ENVELOPES[case](shop), headers=shop.till)
    assert resp.status_code == 422, resp.json
    assert resp.mimetype == "application/problem+json"
    assert resp.json["code"] == "invalid_input"
    db.expire_all()
    for model in (Basket, Entry, IdempotencyRecord):
        assert db.scalar(select(func.count()).select_from(model)) == 0, model.__name__


def test_malformed_json_is_400_for_the_whole_batch(client, db, shop):
    resp = client.post(URL, data="{not json", headers=shop.till, content_type="application/json")
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"


@pytest.mark.parametrize("role", ["cashier", "store_manager", "admin", "marketer"])
def test_only_tills_may_send_a_batch(client, db, shop, role):
    from loyalty.stores.models import Store

    desk = StaffDesk(db, db.get(Store, shop.store_id))
    resp = client.post(URL, json={"checkouts": [{"idempotency_key": "a", "body": basket(shop)}]},
                       headers=desk(role))
    assert resp.status_code == 403
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Basket)) == 0


@pytest.mark.postgres
def test_deferred_fsync_ends_with_its_transaction(app):
    """Sales of a batch commit with synchronous_commit off; the pooled connection must not
    keep it, or every later request on it would skip the disk flush too."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from loyalty.idempotency.services import defer_fsync, make_durable

    database = app.extensions["loyalty.db"]
    with database.engine.connect() as conn, Session(bind=conn) as session:
        defer_fsync(session)
        assert session.scalar(text("SHOW synchronous_commit")) == "off"
        session.commit()
        assert session.scalar(text("SHOW synchronous_commit")) == "on"
    make_durable(database.session_factory)  # raises if the server lacks pg_current_xact_id


def test_a_refused_items_claim_goes_with_it_so_the_key_can_be_used_again(client, db, shop):
    refused = send(client, shop, [("again", basket(shop, currency="USD"))])
    assert refused[0]["status"] == 422
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(IdempotencyRecord)
                     .where(IdempotencyRecord.key == "again")) == 0
    db.rollback()
    fixed = send(client, shop, [("again", basket(shop))])  # same key, the till's fixed body
    assert fixed[0]["status"] == 201


def test_reference_data_is_read_once_per_batch_and_again_by_the_next(app, client, db, shop):
    """Catalog ids, earning rules and tiers are read for the first sale of a batch only; a
    rule added between two batches is in force for the second."""
    from sqlalchemy import event

    from loyalty.rules.models import RuleKind
    from loyalty.rules.services import add_earning_rule
    from tests.factories import LONG_AGO

    engine = app.extensions["loyalty.db"].engine
    reads: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        for table in ("product", "earning_rule", "tier"):
            if statement.lstrip().upper().startswith("SELECT") and f"FROM {table}" in statement:
                reads.append(table)

    event.listen(engine, "before_cursor_execute", note)
    try:
        first = send(client, shop, [
            (f"f{n}", basket(shop, [{"sku": sku, "quantity": 1, "unit_price_minor": 650}]))
            for n, sku in enumerate(["MILK", "BREAD", "NOT-IN-THE-CATALOG"])])
        assert sorted(reads) == ["earning_rule", "product", "tier"]  # all three SKUs at once
        add_earning_rule(db, "double milk", RuleKind.PRODUCT, sku="MILK", multiplier_permille=2000,
                         valid_from=LONG_AGO)
        db.commit()
        reads.clear()
        second = send(client, shop, [("s0", basket(shop, milk(1)))])
        assert sorted(reads) == ["earning_rule", "product", "tier"]
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert {r["status"] for r in first + second} == {201}
    assert second[0]["body"]["points_earned"] > first[0]["body"]["points_earned"]


@pytest.mark.postgres
def test_a_batch_claim_defers_its_sales_fsync_and_a_known_key_aborts_nothing(app):
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from loyalty.idempotency.services import claim_new_key

    database = app.extensions["loyalty.db"]
    with database.engine.connect() as conn, Session(bind=conn) as session:
        claim = claim_new_key(session, "till:test", "k1", "print")
        assert claim is not None
        assert session.scalar(text("SHOW synchronous_commit")) == "off"
        session.commit()
        assert session.scalar(text("SHOW synchronous_commit")) == "on"
        assert claim_new_key(session, "till:test", "k1", "print") is None
        assert session.scalar(text("SELECT 1")) == 1  # the transaction goes on
        session.rollback()


def test_a_batch_takes_as_many_pooled_connections_for_one_sale_as_for_five(
    app, client, shop, monkeypatch
):
    """The sales' transactions share one connection (each pooled checkout is pinged)."""
    from sqlalchemy import event

    # The embedded relay runs each sale's follow-up task (insight refresh) after the request,
    # each in its own transaction: not the batch's connections, so left out of the count.
    monkeypatch.setattr("loyalty.worker._relay_now", lambda _app: None)
    engine = app.extensions["loyalty.db"].engine
    checkouts: list[int] = []

    def note(*_args) -> None:  # type: ignore[no-untyped-def]
        checkouts.append(1)

    event.listen(engine, "checkout", note)
    try:
        send(client, shop, [("one", basket(shop, milk(1)))])
        for_one = len(checkouts)
        checkouts.clear()
        results = send(client, shop, [(f"five-{n}", basket(shop, milk(1))) for n in range(5)])
    finally:
        event.remove(engine, "checkout", note)
    assert {r["status"] for r in results} == {201}
    assert len(checkouts) == for_one


def test_lines_a_sale_cannot_have_are_refused_for_that_sale_only(client, shop):
    """The batch reads its SKUs ahead, leniently: odd lines are each item's own 422."""
    odd = [{"lines": "milk"}, {"lines": [{"sku": 7, "quantity": 1, "unit_price_minor": 1}]},
           {"lines": [{"sku": "X" * 65, "quantity": 1, "unit_price_minor": 1}]}, {"lines": [5]}]
    items = [(f"odd-{n}", {**basket(shop), **change}) for n, change in enumerate(odd)]
    results = send(client, shop, [*items, ("fine", basket(shop, milk(1)))])
    assert [r["status"] for r in results] == [422, 422, 422, 422, 201]


def test_catalog_ids_are_read_ahead_in_chunks_and_then_not_again(app, db, shop):
    from sqlalchemy import event

    from loyalty.checkout.pricing import PREFETCH_CHUNK, _products, prefetch_catalog_ids
    from loyalty.db import reference_snapshot

    engine = app.extensions["loyalty.db"].engine
    reads: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if "FROM product" in statement:
            reads.append(statement)

    skus = [f"NOPE-{n}" for n in range(2 * PREFETCH_CHUNK + 1)] + ["MILK", "BREAD", ""]
    event.listen(engine, "before_cursor_execute", note)
    try:
        with reference_snapshot(db):
            prefetch_catalog_ids(db, skus)
            assert len(reads) == 3  # 2,003 SKUs (the empty one dropped), 1,000 a query
            assert set(_products(db, {"MILK", "BREAD", "NOPE-7"})) == {"MILK", "BREAD"}
            assert len(reads) == 3
        prefetch_catalog_ids(db, skus)  # outside a snapshot: nothing to keep them in
        assert len(reads) == 3
    finally:
        event.remove(engine, "before_cursor_execute", note)
