"""Staff accounts: argon2id password hashes, API tokens, roles bound to stores."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.audit.services import record_event
from loyalty.auth.tokens import hash_token, new_token
from loyalty.errors import Conflict, InvalidInput, Unauthorized
from loyalty.staff.models import Role, StaffUser

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
STORE_BOUND = {Role.STORE_MANAGER, Role.CASHIER}
MIN_PASSWORD = 10


def add_staff(
    session: Session,
    username: str,
    password: str,
    role: Role | str,
    store_id: int | None = None,
    full_name: str = "",
    actor: str = "cli",
) -> StaffUser:
    """Create a staff account.  Store managers and cashiers must name their store."""
    role = Role(role)
    if role in STORE_BOUND and store_id is None:
        raise InvalidInput(f"a {role.value} must belong to a store")
    if role not in STORE_BOUND:
        store_id = None
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD} characters")
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
        raise Conflict(f"staff user {username!r} exists already")
    user = StaffUser(
        username=username,
        full_name=full_name,
        role=role,
        store_id=store_id,
        password_hash=_hasher.hash(password),
    )
    session.add(user)
    session.flush()
    record_event(session, actor, "staff.add", f"staff:{user.id}", role=role.value)
    return user


def issue_api_token(session: Session, user: StaffUser, actor: str = "cli") -> str:
    """Give a staff user a fresh API bearer token (replacing any older one); shown once."""
    token = new_token("staff")
    user.api_token_hash = hash_token(token)
    session.flush()
    record_event(session, actor, "staff.token", f"staff:{user.id}")
    return token


def authenticate_staff(session: Session, username: str, password: str) -> StaffUser:
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None or not user.active:
        raise Unauthorized("wrong username or password")
    try:
        _hasher.verify(user.password_hash, password)
    except VerificationError as exc:
        raise Unauthorized("wrong username or password") from exc
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        session.flush()
    return user
