"""A chain (tests/auth) with a small catalog: categories grocery and tobacco, SKU MILK."""

from __future__ import annotations

import pytest

from loyalty.catalog.services import import_catalog
from tests.auth.conftest import chain  # noqa: F401 - fixture

ROWS = [
    {"sku": "MILK", "name": "Milk 1L", "category_code": "grocery", "category_name": "Grocery",
     "price_minor": "650", "currency": "AED"},
    {"sku": "CIGS", "name": "Cigarettes", "category_code": "tobacco",
     "category_name": "Tobacco", "price_minor": "2500", "currency": "AED"},
]


@pytest.fixture
def catalog(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Category code -> id."""
    from sqlalchemy import select

    from loyalty.catalog.models import Category

    report = import_catalog(db, enumerate(ROWS, start=2))
    assert not report.errors
    ids = {c.code: c.id for c in db.scalars(select(Category))}
    db.commit()  # end the read too: on SQLite an open transaction holds the write lock
    return ids
