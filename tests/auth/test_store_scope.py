"""A till, a cashier and a store manager act only in their own store."""

from __future__ import annotations

import pytest

from loyalty.auth.policy import ADMIN, CASHIER, MANAGER, MARKETER, TILL
from loyalty.auth.principal import Principal
from loyalty.errors import Forbidden
from tests.factories import make_member

QUOTE = "/api/v1/checkouts/quote"


@pytest.fixture
def card_number(db, settings) -> str:  # type: ignore[no-untyped-def]
    _member, card = make_member(db, settings)
    db.commit()
    return card.number


def _basket(store_id: int, card_number: str) -> dict:
    return {"store_id": store_id, "currency": "AED", "card_number": card_number,
            "lines": [{"sku": "MILK", "quantity": 1, "unit_price_minor": 650}]}


@pytest.mark.parametrize("role", [TILL, CASHIER, MANAGER])
def test_store_bound_callers_are_refused_in_another_store(client, chain, card_number, role):
    headers = chain.headers(role)
    resp = client.post(QUOTE, json=_basket(chain.other.id, card_number), headers=headers)
    assert (resp.status_code, resp.json["code"]) == (403, "forbidden"), resp.json
    own = client.post(QUOTE, json=_basket(chain.store.id, card_number), headers=headers)
    assert own.status_code == 200, own.json


def test_admin_may_act_in_any_store(client, chain, card_number):
    resp = client.post(QUOTE, json=_basket(chain.other.id, card_number),
                       headers=chain.headers(ADMIN))
    assert resp.status_code == 200, resp.json


@pytest.mark.parametrize(("role", "store_id", "allowed"), [
    (ADMIN, None, {1, 2}),
    (MARKETER, None, {1, 2}),
    (MANAGER, 1, {1}),
    (CASHIER, 1, {1}),
    (TILL, 2, {2}),
])
def test_check_store(role, store_id, allowed):
    principal = Principal("staff" if role != TILL else "till", 7, role, store_id)
    for store in (1, 2):
        if store in allowed:
            principal.check_store(store)
        else:
            with pytest.raises(Forbidden):
                principal.check_store(store)
