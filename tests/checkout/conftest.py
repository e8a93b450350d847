"""A small programme: one AED store, a till, a member with points, a few products and rules."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from loyalty.catalog.models import Category, Product
from loyalty.db import utcnow
from loyalty.ledger.models import PostingKind
from loyalty.ledger.services import PostingRequest, earn_points
from loyalty.rules.models import RuleKind
from loyalty.rules.services import add_earning_rule
from tests.factories import LONG_AGO, auth, make_member, make_store, till_token


@dataclass
class Shop:
    store_id: int
    till: dict[str, str]
    member_id: int
    card: str
    grocery_id: int
    tobacco_id: int


def give_points(db, member_id: int, points: int, at: dt.datetime | None = None) -> None:
    earn_points(db, PostingRequest(PostingKind.ADJUST, member_id, points, at or utcnow(),
                                   reason="test"), 365)


@pytest.fixture
def shop(db, settings) -> Shop:
    store = make_store(db, "AED")
    grocery = Category(code="grocery", name="Grocery")
    tobacco = Category(code="tobacco", name="Tobacco")
    db.add_all([grocery, tobacco])
    db.flush()
    db.add_all([
        Product(sku="MILK", name="Milk 1L", category_id=grocery.id, price_minor=650,
                currency="AED"),
        Product(sku="BREAD", name="Bread", category_id=grocery.id, price_minor=400,
                currency="AED"),
        Product(sku="CIGS", name="Cigarettes", category_id=tobacco.id, price_minor=2500,
                currency="AED"),
    ])
    add_earning_rule(db, "1 point per AED", RuleKind.BASE, valid_from=LONG_AGO)
    add_earning_rule(db, "No points on tobacco", RuleKind.EXCLUSION, category_id=tobacco.id,
                     valid_from=LONG_AGO)
    member, card = make_member(db, settings)
    token = till_token(db, store)
    db.commit()
    return Shop(store.id, auth(token), member.id, card.number, grocery.id, tobacco.id)


def basket(shop: Shop, lines=None, **extra):  # type: ignore[no-untyped-def]
    body = {
        "currency": "AED",
        "card_number": shop.card,
        "lines": lines or [{"sku": "MILK", "quantity": 2, "unit_price_minor": 650},
                           {"sku": "BREAD", "quantity": 1, "unit_price_minor": 400}],
    }
    body.update(extra)
    return body


def commit(client, shop: Shop, body: dict, key: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/checkouts", json=body,
                       headers={**shop.till, "Idempotency-Key": key})
