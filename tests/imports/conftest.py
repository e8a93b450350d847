from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from loyalty.baskets.models import Basket, BasketLine
from loyalty.catalog.models import Category, Product
from loyalty.ledger.models import Posting
from loyalty.members.models import Member
from loyalty.stores.models import Store
from tests.factories import make_member, make_store


@pytest.fixture
def shop(db, settings):  # type: ignore[no-untyped-def]
    """Two stores in Dubai (AED), two products, one member known by reference C1."""
    dxb = make_store(db, "AED", code="DXB1")
    auh = make_store(db, "AED", code="AUH1")
    dairy = Category(code="dairy", name="Dairy")
    db.add(dairy)
    db.flush()
    milk = Product(sku="MILK", name="Milk", category_id=dairy.id, price_minor=650,
                   currency="AED")
    bread = Product(sku="BREAD", name="Bread", category_id=dairy.id, price_minor=400,
                    currency="AED")
    db.add_all([milk, bread])
    member, _card = make_member(db, settings, external_ref="C1")
    db.commit()
    return SimpleNamespace(dxb=dxb.id, auh=auh.id, milk=milk.id, bread=bread.id,
                           dairy=dairy.id, member=member.id)


def counts(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Rows per table the imports write; the read ends at once (SQLite holds its lock)."""
    db.expire_all()
    result = {name: db.scalar(select(func.count()).select_from(model)) for name, model in (
        ("baskets", Basket), ("lines", BasketLine), ("members", Member), ("stores", Store),
        ("products", Product), ("postings", Posting))}
    db.rollback()
    return result
