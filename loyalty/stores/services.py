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


def create_store(session: Session, code: str, name: str, currency: str, timezone: str) -> Store:
    """Open a branch.  Invariants: code unique, a known ISO 4217 currency, an IANA zone."""
    currency = currency.upper()
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
    token = new_token("till")
    till = Till(store_id=store.id, name=name, token_hash=hash_token(token))
    session.add(till)
    session.flush()
    record_event(session, actor, "till.add", f"till:{till.id}", store=store.code, name=name)
    return till, token


def revoke_till(session: Session, till_id: int, actor: str = "cli") -> Till:
    """Revoke a till's token; it is refused from the next request on."""
    till = session.get(Till, till_id)
    if till is None:
        raise NotFound(f"no till {till_id}")
    if till.revoked_at is None:
        till.revoked_at = utcnow()
        record_event(session, actor, "till.revoke", f"till:{till.id}")
    session.flush()
    return till
