"""Resolving the caller from ``Authorization: Bearer ...`` and enforcing the policy."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request
from sqlalchemy import select

from loyalty.auth.policy import PUBLIC, TILL, allowed_roles
from loyalty.auth.tokens import hash_token
from loyalty.errors import Forbidden, Unauthorized
from loyalty.http import db_session
from loyalty.staff.models import StaffUser
from loyalty.staff.services import SESSION_TOKEN_PREFIX, live_session
from loyalty.stores.models import Till


@dataclass(frozen=True)
class Principal:
    kind: str  # "till" or "staff"
    id: int
    role: str
    store_id: int | None  # None: not bound to one store (admin, marketer)
    session_id: int | None = None  # the staff sign-in session used, if not an API token

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def till_id(self) -> int | None:
        return self.id if self.kind == "till" else None

    def check_store(self, store_id: int) -> None:
        if self.store_id is not None and self.store_id != store_id:
            raise Forbidden("this store is outside your scope", code_hint="wrong_store")


def current_principal() -> Principal:
    principal = g.get("principal")
    if principal is None:
        raise Unauthorized()
    return principal


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _resolve(token: str) -> Principal | None:
    digest = hash_token(token)
    session = db_session()
    if token.startswith(SESSION_TOKEN_PREFIX + "_"):  # one lookup, in the sessions' table
        found = live_session(session, digest)
        if found is None:
            return None
        user, signed_in = found
        return Principal("staff", user.id, user.role.value, user.store_id, signed_in.id)
    till = session.scalar(select(Till).where(Till.token_hash == digest))
    if till is not None:
        if till.revoked_at is not None:
            return None
        return Principal("till", till.id, TILL, till.store_id)
    staff = session.scalar(select(StaffUser).where(StaffUser.api_token_hash == digest))
    if staff is not None and staff.active:
        return Principal("staff", staff.id, staff.role.value, staff.store_id)
    return None


def enforce_policy() -> None:
    """``before_request`` for the API: authenticate, then deny anything not explicitly allowed."""
    if request.endpoint in PUBLIC or request.endpoint is None:
        return
    token = _bearer_token()
    principal = _resolve(token) if token else None
    if principal is None:
        raise Unauthorized("a valid bearer token is required")
    g.principal = principal
    if principal.role not in allowed_roles(request.endpoint):
        raise Forbidden(f"role {principal.role!r} may not call this endpoint")
