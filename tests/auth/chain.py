"""A small chain for access tests: two stores, and callers of every role made on demand.

Staff users cost an argon2 hash each (a sizeable fraction of a second), so a test only pays
for the roles it asks for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from loyalty.auth.policy import CASHIER, MANAGER, TILL
from loyalty.staff.services import add_staff, issue_api_token
from loyalty.stores.models import Store
from loyalty.stores.services import add_till
from tests.factories import auth, make_store

PASSWORD = "correct horse battery"
STORE_BOUND = {MANAGER, CASHIER, TILL}


@dataclass
class Chain:
    db: Session
    store: Store  # where every store-bound caller works unless told otherwise
    other: Store  # a second store, outside their scope
    _tokens: dict[tuple[str, int | None], str] = field(default_factory=dict)

    def token(self, role: str, store: Store | None = None) -> str:
        """A bearer token for a caller of ``role`` (cached); store-bound roles default to
        ``self.store``."""
        store_id = (store or self.store).id if role in STORE_BOUND else None
        key = (role, store_id)
        if key not in self._tokens:
            self._tokens[key] = self._new_token(role, store_id)
        return self._tokens[key]

    def headers(self, role: str, store: Store | None = None) -> dict[str, str]:
        return auth(self.token(role, store))

    def _new_token(self, role: str, store_id: int | None) -> str:
        if role == TILL:
            store = self.db.get(Store, store_id)
            assert store is not None
            _till, token = add_till(self.db, store, f"lane {len(self._tokens) + 1}")
        else:
            user = add_staff(self.db, f"{role}-{store_id or 'hq'}", PASSWORD, role, store_id)
            token = issue_api_token(self.db, user)
        self.db.commit()
        return token


def make_chain(db: Session) -> Chain:
    chain = Chain(db, make_store(db, code="DXB"), make_store(db, code="AUH"))
    db.commit()
    return chain
