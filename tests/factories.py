"""Arranging data for tests, through the services (the one write path) where they exist."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import JSON, String, cast, func, select
from sqlalchemy.orm import Session

from loyalty.config import Settings
from loyalty.db import Base
from loyalty.members.services import enrol_member
from loyalty.staff.models import Role
from loyalty.staff.services import add_staff, issue_api_token
from loyalty.stores.models import Store
from loyalty.stores.services import add_till, create_store

_seq = itertools.count(1)
T = TypeVar("T")
LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def make_store(db: Session, currency: str = "AED", code: str | None = None) -> Store:
    return create_store(db, code or f"S{next(_seq)}", "Test store", currency, "Asia/Dubai")


def till_token(db: Session, store: Store) -> str:
    _till, token = add_till(db, store, f"till-{next(_seq)}")
    return token


def staff_token(db: Session, role: Role | str, store: Store | None = None) -> str:
    user = add_staff(
        db, f"user{next(_seq)}", "correct horse battery", role,
        store_id=store.id if store else None,
    )
    return issue_api_token(db, user)


def make_member(db: Session, settings: Settings, name: str = "Layla Haddad", **kw):  # type: ignore[no-untyped-def]
    return enrol_member(
        db, name, card_prefix=settings.card_prefix, card_length=settings.card_length, **kw
    )


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def invoke_cli(app, args: list[str], input: str | None = None):  # type: ignore[no-untyped-def]
    """Run ``loyalty ARGS`` against the test app's database; returns click's Result."""
    from click.testing import CliRunner

    from loyalty.cli import Context, main

    ctx = Context()
    ctx._app = app
    return CliRunner().invoke(main, args, obj=ctx, input=input)


class StaffDesk:
    """Bearer headers per role in one store, made on first use (argon2 hashing is slow)."""

    def __init__(self, db: Session, store: Store) -> None:
        self.db, self.store = db, store
        self._headers: dict[str, dict[str, str]] = {}

    def __call__(self, role: str) -> dict[str, str]:
        if role not in self._headers:
            token = till_token(self.db, self.store) if role == "till" else staff_token(
                self.db, role, self.store if role in ("store_manager", "cashier") else None)
            self.db.commit()
            self._headers[role] = auth(token)
        return self._headers[role]


def database_contains(db: Session, needle: str) -> bool:
    """Whether any textual column of any table holds ``needle`` (e.g. a PAN that must not be
    stored).  Reads committed and flushed rows afresh, then rolls back, so the caller's later
    assertions see the database as it was."""
    db.expire_all()
    try:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, String | JSON):
                    continue
                found = db.scalar(select(func.count()).select_from(table)
                                  .where(cast(column, String).contains(needle)))
                if found:
                    return True
        return False
    finally:
        db.rollback()


def side_by_side(work: Callable[[], T], times: int = 2, timeout: float = 60) -> list[T]:
    """Run ``work`` in ``times`` threads released together (a barrier), and return what each
    returned; the first exception any of them raised is raised here, so a race that breaks
    one thread fails the test instead of vanishing into threading's excepthook."""
    barrier = threading.Barrier(times)
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout)
            results.append(work())
        except BaseException as exc:  # noqa: BLE001 - handed to the test below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    if errors:
        raise errors[0]
    assert len(results) == times, "a thread did not finish in time"
    return results
