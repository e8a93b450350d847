"""Bad input from a till gets a clear 4xx problem+json and writes nothing (issue 2, section 6)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from loyalty.baskets.models import Basket
from loyalty.cards.models import Card, CardStatus
from loyalty.idempotency.models import IdempotencyRecord
from loyalty.ledger.models import Entry
from tests.checkout.conftest import basket
from tests.factories import database_contains

TEST_PAN = "4111111111111111"  # Visa's published test number


def _post(client, shop, body=None, *, data=None, headers=None, key="bad"):  # type: ignore[no-untyped-def]
    headers = {**shop.till, "Idempotency-Key": key, **(headers or {})}
    if data is not None:
        return client.post("/api/v1/checkouts", data=data, headers=headers,
                           content_type="application/json")
    return client.post("/api/v1/checkouts", json=body, headers=headers)


def _nothing_written(db) -> None:  # type: ignore[no-untyped-def]
    db.expire_all()
    for model in (Basket, Entry, IdempotencyRecord):
        assert db.scalar(select(func.count()).select_from(model)) == 0, model.__name__


def _line(**kw):  # type: ignore[no-untyped-def]
    return [{"sku": "MILK", "quantity": 1, "unit_price_minor": 650, **kw}]


CASES = {
    "unknown card": (lambda s: basket(s, card_number="9871000000000000"), 404, "unknown_card"),
    "zero quantity": (lambda s: basket(s, _line(quantity=0)), 422, "invalid_input"),
    "negative quantity": (lambda s: basket(s, _line(quantity=-2)), 422, "invalid_input"),
    "absurd price": (lambda s: basket(s, _line(unit_price_minor=10**12)), 422, "invalid_input"),
    "negative price": (lambda s: basket(s, _line(unit_price_minor=-1)), 422, "invalid_input"),
    "float price": (lambda s: basket(s, _line(unit_price_minor=6.5)), 422, "invalid_input"),
    "other currency": (lambda s: basket(s, currency="USD"), 422, "currency_mismatch"),
    "unknown field": (lambda s: {**basket(s), "tip": 5}, 422, "invalid_input"),
    "unknown line field": (lambda s: basket(s, _line(colour="red")), 422, "invalid_input"),
    "no lines": (lambda s: {**basket(s), "lines": []}, 422, "invalid_input"),
    "discount above price": (lambda s: basket(s, _line(discount_minor=651)), 422,
                             "invalid_input"),
    "future sale": (lambda s: basket(s, occurred_at="2999-01-01T00:00:00+00:00"), 422,
                    "invalid_input"),
    "naive time": (lambda s: basket(s, occurred_at="2026-01-01T00:00:00"), 422,
                   "invalid_input"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_basket_is_refused_and_writes_nothing(client, db, shop, case):
    make_body, status, code = CASES[case]
    resp = _post(client, shop, make_body(shop))
    assert resp.status_code == status, resp.json
    assert resp.mimetype == "application/problem+json"
    assert resp.json["code"] == code
    _nothing_written(db)


def test_blocked_card(client, db, shop):
    card = db.scalar(select(Card).where(Card.number == shop.card))
    card.status = CardStatus.BLOCKED
    db.commit()
    resp = _post(client, shop, basket(shop))
    assert resp.status_code == 403 and resp.json["code"] == "card_blocked"
    _nothing_written(db)


def test_malformed_json(client, db, shop):
    resp = _post(client, shop, data=b'{"currency": "AED", "lines": [')
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"
    _nothing_written(db)


def test_body_over_one_mebibyte_is_413(client, db, shop):
    resp = _post(client, shop, data=b'{"pad": "' + b"x" * (1024 * 1024) + b'"}')
    assert resp.status_code == 413
    assert resp.json["code"] == "body_too_large"
    _nothing_written(db)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"},
                                     {"Authorization": "Basic dXNlcjpwYXNz"}])
def test_missing_or_invalid_token(client, db, shop, headers):
    resp = client.post("/api/v1/checkouts", json=basket(shop),
                       headers={"Idempotency-Key": "x", **headers})
    assert resp.status_code == 401 and resp.json["code"] == "unauthorized"
    _nothing_written(db)


def test_payment_card_is_refused_never_stored_nor_logged(client, db, shop, caplog):
    caplog.set_level(logging.DEBUG)
    resp = _post(client, shop, basket(shop, card_number=TEST_PAN))
    assert resp.status_code == 422 and resp.json["code"] == "payment_card"
    assert TEST_PAN not in resp.get_data(as_text=True)
    quote = client.post("/api/v1/checkouts/quote", json=basket(shop, card_number=TEST_PAN),
                        headers=shop.till)
    assert quote.status_code == 422
    assert TEST_PAN not in caplog.text
    _nothing_written(db)
    assert not database_contains(db, TEST_PAN)

