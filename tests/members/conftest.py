"""A store with staff of every role, made on demand."""

from __future__ import annotations

import pytest

from tests.factories import StaffDesk, make_store


@pytest.fixture
def desk(db) -> StaffDesk:
    store = make_store(db, "AED")
    db.commit()
    return StaffDesk(db, store)
