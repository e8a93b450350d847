"""Campaign definitions and a few members to aim them at (tests of the lifecycle slice)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from loyalty.catalog.models import Category

START = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
END = dt.datetime(2027, 6, 1, tzinfo=dt.UTC)


def body(**changes: Any) -> dict[str, Any]:
    """A valid targeted campaign's JSON body, with ``changes``."""
    data: dict[str, Any] = {
        "name": "Spring dairy", "kind": "targeted",
        "audience": {"field": "frequency", "op": ">=", "value": 2},
        "offer": {"kind": "amount_off", "amount_minor": 500},
        "currency": "AED", "budget_minor": 100_000,
        "starts_at": START.isoformat(), "ends_at": END.isoformat(),
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None or k in changes}


def categories(db: Session, *codes: str) -> dict[str, int]:
    made = {code: Category(code=code, name=code.capitalize()) for code in codes}
    db.add_all(made.values())
    db.flush()
    return {code: c.id for code, c in made.items()}
