"""Stores and tills."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.audit.services import record_event
from loyalty.auth.tokens import hash_token, new_token
from loyalty.db import utcnow
from loyalty.errors import Conflict, InvalidInput, NotFound
from loyalty.money import KNOWN_CURRENCIES
from loyalty.stores.models import Store, Till


def create_store(
    session: Session, code: str, name: str, currency: str, timezone: str, actor: str = "cli"
) -> Store:
    """Open a branch.  Invariants: code unique, a known ISO 4217 currency, an IANA zone.
    Audit-logged."""
    currency = currency.upper()
    _check_label("store code", code, Store.code.type.length)
    _check_label("store name", name, Store.name.type.length)
    if currency not in KNOWN_CURRENCIES:
        raise InvalidInput(f"unknown currency {currency!r}")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown timezone {timezone!r}") from exc
    if session.scalar(select(Store.id).where(Store.code == code)) is not None:
        raise Conflict(f"store {code!r} exists already")
    store = Store(code=code, name=name, currency=currency, timezone=timezone)
    session.add(store)
    session.flush()
    record_event(session, actor, "store.add", f"store:{store.id}", code=code)
    return store


def get_store(session: Session, code_or_id: str | int) -> Store:
    column = Store.id if isinstance(code_or_id, int) else Store.code
    store = session.scalar(select(Store).where(column == code_or_id))
    if store is None:
        raise NotFound(f"no store {code_or_id!r}")
    return store


def add_till(session: Session, store: Store, name: str, actor: str = "cli") -> tuple[Till, str]:
    """Register a till.  Returns the till and its bearer token, which is shown this once only:
    only its hash is stored."""
    _check_label("till name", name, Till.name.type.length)
    token = new_token("till")
    till = Till(store_id=store.id, name=name, token_hash=hash_token(token))
    session.add(till)
    session.flush()
    record_event(session, actor, "till.add", f"till:{till.id}", store=store.code, name=name)
    return till, token


def revoke_till(
    session: Session, till_id: int, actor: str = "cli", *, store_id: int | None = None
) -> Till:
    """Revoke a till's token; it is refused from the next request on.  Revoking twice is a
    no-op.  With ``store_id``, a till of another store is treated as unknown, so a caller
    scoped to one store cannot even learn that the id exists elsewhere."""
    till = session.get(Till, till_id)
    if till is None or (store_id is not None and till.store_id != store_id):
        raise NotFound(f"no till {till_id}")
    if till.revoked_at is None:
        till.revoked_at = utcnow()
        record_event(session, actor, "till.revoke", f"till:{till.id}")
    session.flush()
    return till


def list_stores(session: Session) -> list[Store]:
    """Every branch, by code."""
    return list(session.scalars(select(Store).order_by(Store.code)))


def list_tills(session: Session, store_id: int | None = None) -> list[Till]:
    """Tills, revoked ones included (an admin needs to see what was switched off), by id."""
    query = select(Till).order_by(Till.id)
    if store_id is not None:
        get_store(session, store_id)  # an unknown store is a 404, not an empty list
        query = query.where(Till.store_id == store_id)
    return list(session.scalars(query))


def _check_label(what: str, value: str, max_length: int | None) -> None:
    # The CLI reaches the services without a schema; refuse here what the column cannot hold.
    if not value.strip() or (max_length is not None and len(value) > max_length):
        raise InvalidInput(f"{what} must have 1 to {max_length} characters")
