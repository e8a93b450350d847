"""No 500 for anything a client sends (issue 8, section 2), on SQLite and PostgreSQL.

Each example of the issue through HTTP: a NUL character in a text field, an id of 2**31 in a
path, a query or a body, a reference to a row that does not exist, and two requests racing to
create the same unique thing.  And the log of a failure never carries what was typed.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time

import pytest
from flask import request
from sqlalchemy import text

from loyalty.db import make_engine
from loyalty.staff.services import add_staff
from loyalty.stores.services import create_store
from tests.auth.chain import make_chain
from tests.factories import make_member

API = "/api/v1"
BIG = 2**31
IDEMPOTENT = {"Idempotency-Key": "edge-test-1"}


@pytest.fixture
def shop(db, settings):  # type: ignore[no-untyped-def]
    chain = make_chain(db)
    member, card = make_member(db, settings)
    db.commit()
    return dataclasses.make_dataclass("Shop", ["chain", "member_id", "card"])(
        chain, member.id, card.number)


def _basket(**extra: object) -> dict:
    return {"currency": "AED", "lines": [{"sku": "SKU-1", "quantity": 1,
                                          "unit_price_minor": 1000}], **extra}


# (who, method, path, body, the field that must be named).  Paths use {member} for the
# shop's member id.
NUL_IN_TEXT = [
    ("nobody", "POST", "/staff/sessions", {"username": "ad\x00min", "password": "x"},
     "username"),
    ("admin", "POST", "/members", {"name": "Layla\x00"}, "name"),
    ("admin", "POST", "/members/{member}/adjustments", {"points": 5, "reason": "goodwill\x00"},
     "reason"),
    ("admin", "POST", "/stores/{store}/tills", {"name": "lane\x00 1"}, "name"),
    ("admin", "POST", "/staff", {"username": "nadia", "password": "correct horse battery",
                                 "role": "admin", "full_name": "Nadia\x00"}, "full_name"),
    ("till", "POST", "/checkouts/quote",
     {"currency": "AED", "lines": [{"sku": "SKU\x00", "quantity": 1, "unit_price_minor": 1}]},
     "lines"),
    ("till", "POST", "/checkouts", _basket(member_id="{member}", external_ref="ref\x00"),
     "external_ref"),
    ("admin", "POST", "/members", {"name": "lone \ud800 surrogate"}, "name"),
]


def _fill(value: object, shop) -> object:  # type: ignore[no-untyped-def]
    if isinstance(value, str):
        filled = value.replace("{member}", str(shop.member_id)).replace(
            "{store}", str(shop.chain.store.id))
        return int(filled) if filled.isdigit() and value.startswith("{") else filled
    if isinstance(value, dict):
        return {k: _fill(v, shop) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, shop) for v in value]
    return value


def _send(client, shop, who, method, path, body=None):  # type: ignore[no-untyped-def]
    headers = {} if who == "nobody" else shop.chain.headers(who)
    if method == "POST" and path.startswith(("/checkouts", "/returns")):
        headers = {**headers, **IDEMPOTENT}
    return client.open(f"{API}{_fill(path, shop)}", method=method, headers=headers,
                       json=_fill(body, shop) if body is not None else None)


@pytest.mark.parametrize(("who", "method", "path", "body", "field"), NUL_IN_TEXT,
                         ids=[f"{m} {p} {f}" for _, m, p, _, f in NUL_IN_TEXT])
def test_text_the_database_cannot_store_is_refused_with_its_field(
        client, shop, who, method, path, body, field):
    resp = _send(client, shop, who, method, path, body)
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    assert field in resp.json["errors"]["json"], resp.json


BIG_IDS = [
    # in a path: no such route, as for any id that names nothing
    ("admin", "GET", f"/members/{BIG}", None, 404),
    ("admin", "GET", f"/members/{BIG}/ledger", None, 404),
    ("admin", "GET", f"/stores/{BIG}/tills", None, 404),
    ("admin", "POST", f"/stores/{{store}}/tills/{BIG}/revoke", None, 404),
    # in a query or a body: the field is out of range
    ("admin", "GET", f"/coupons?member_id={BIG}", None, 422),
    ("admin", "GET", f"/staff?store_id={BIG}", None, 422),
    ("admin", "GET", f"/members/{{member}}/ledger?page={BIG}", None, 422),
    ("till", "POST", "/checkouts/quote", _basket(member_id=BIG), 422),
    ("admin", "POST", "/checkouts", _basket(store_id=BIG, member_id="{member}"), 422),
    ("till", "POST", "/returns", {"basket_id": BIG, "lines": [{"line_no": 1, "quantity": 1}]},
     422),
    ("admin", "POST", "/coupons", {"member_id": BIG, "kind": "percent_off", "percent": 10}, 422),
    ("admin", "POST", "/staff", {"username": "omar", "password": "correct horse battery",
                                 "role": "cashier", "store_id": BIG}, 422),
    ("till", "POST", "/checkouts/quote",
     {"currency": "AED", "lines": [{"sku": "A", "quantity": 1, "unit_price_minor": 1,
                                    "discount_minor": 2**63}]}, 422),
    ("till", "POST", "/checkouts/quote", _basket(occurred_at="9999-12-31T23:00:00-05:00"), 422),
]


@pytest.mark.parametrize(("who", "method", "path", "body", "status"), BIG_IDS,
                         ids=[f"{m} {p}" for _, m, p, _, _ in BIG_IDS])
def test_numbers_past_the_database_range_are_refused(client, shop, who, method, path, body,
                                                     status):
    resp = _send(client, shop, who, method, path, body)
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"


@pytest.mark.parametrize("body", [b'{"name": "Layla", ', b"[" * 100_000 + b"]" * 100_000,
                                  b'{"name": ' + b"{" * 50_000 + b"}" * 50_000 + b"}"])
def test_malformed_or_bottomless_json_is_400(client, shop, body):
    resp = client.post(f"{API}/members", data=body, content_type="application/json",
                       headers=shop.chain.headers("admin"))
    assert (resp.status_code, resp.json["code"]) == (400, "malformed_json")


def test_a_staff_member_of_a_store_that_does_not_exist_is_unknown_reference(client, shop):
    resp = _send(client, shop, "admin", "POST", "/staff", {
        "username": "omar", "password": "correct horse battery", "role": "cashier",
        "store_id": 999_999})
    assert resp.status_code == 422
    assert resp.json["code"] == "unknown_reference"
    assert resp.json["fields"] == ["store_id"]
    assert "999999" not in resp.get_data(as_text=True)


def _hold_then_release(db, is_postgres, request):  # type: ignore[no-untyped-def]
    """Run ``request`` in a thread while ``db`` holds an uncommitted row it will conflict
    with; commit that row once the request waits on it; return the request's answer.

    PostgreSQL: the request does not see the row, inserts its own and waits on the unique
    index until we commit: the database's unique violation decides (the race's loser).
    SQLite: writers queue (BEGIN IMMEDIATE), so the request sees the committed row."""
    answers = []
    thread = threading.Thread(target=lambda: answers.append(request()))
    thread.start()
    if is_postgres:
        _wait_for_lock_wait(db)
    else:
        time.sleep(0.5)
    db.commit()
    thread.join(60)
    assert answers, "the request did not finish"
    return answers[0]


def _wait_for_lock_wait(db) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(db.get_bind().url.render_as_string(hide_password=False))
    try:
        deadline = time.monotonic() + 30
        with engine.connect() as conn:
            while time.monotonic() < deadline:
                waiting = conn.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'")).scalar_one()
                conn.rollback()
                if waiting:
                    return
                time.sleep(0.05)
        raise AssertionError("the request never waited on the held row")
    finally:
        engine.dispose()


def test_two_staff_accounts_racing_for_one_username_the_loser_gets_409(
        client, shop, db, is_postgres, caplog):
    headers = shop.chain.headers("admin")
    caplog.set_level(logging.DEBUG)
    add_staff(db, "race-username", "correct horse battery", "admin")
    db.flush()
    resp = _hold_then_release(db, is_postgres, lambda: client.post(
        f"{API}/staff", headers=headers,
        json={"username": "race-username", "password": "another horse battery",
              "role": "admin"}))
    assert resp.status_code == 409, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    if is_postgres:  # the unique index decided, not the service's look-up
        assert resp.json["code"] == "already_exists"
        assert resp.json["fields"] == ["username"]
    assert "race-username" not in caplog.text


def test_two_stores_racing_for_one_code_the_loser_gets_409(client, shop, db, is_postgres):
    headers = shop.chain.headers("admin")
    create_store(db, "RACE", "First", "AED", "Asia/Dubai")
    db.flush()
    resp = _hold_then_release(db, is_postgres, lambda: client.post(
        f"{API}/stores", headers=headers,
        json={"code": "RACE", "name": "Second", "currency": "AED", "timezone": "Asia/Dubai"}))
    assert resp.status_code == 409, resp.get_data(as_text=True)
    if is_postgres:
        assert (resp.json["code"], resp.json["fields"]) == ("already_exists", ["code"])


def test_a_database_error_never_quotes_its_bound_values(app):
    engine = app.extensions["loyalty.db"].engine
    with pytest.raises(Exception) as caught, engine.connect() as conn:
        conn.execute(text("SELECT * FROM no_such_table WHERE x = :typed"),
                     {"typed": "what-a-person-typed"})
    assert "what-a-person-typed" not in str(caught.value)


def test_an_unexpected_error_is_logged_without_its_message(settings, caplog):
    from loyalty.app import create_app

    app = create_app(dataclasses.replace(settings, testing=False))

    @app.post("/boom")
    def boom() -> str:
        raise ValueError(request.get_json()["typed"])  # as a parser quoting its input would

    caplog.set_level(logging.ERROR, logger="loyalty.http")
    resp = app.test_client().post("/boom", json={"typed": "secret typed by a person"})
    assert resp.status_code == 500
    assert resp.json["code"] == "internal_error"
    assert "ValueError" in caplog.text and "boom" in caplog.text  # type and where, to debug
    assert "secret typed" not in caplog.text
    app.extensions["loyalty.db"].engine.dispose()
