"""Staff accounts: argon2id password hashes, API tokens, roles bound to stores."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.audit.services import record_event
from loyalty.auth.tokens import hash_token, new_token
from loyalty.errors import Conflict, InvalidInput, NotFound, Unauthorized
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
    try:
        role = Role(role)
    except ValueError as exc:
        raise InvalidInput(f"unknown role {role!r}") from exc
    if not 1 <= len(username) <= StaffUser.username.type.length or username != username.strip():
        raise InvalidInput("username must have 1 to 100 characters and no outer spaces")
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
    """Give a staff user a fresh API bearer token (replacing any older one); shown once.

    Invariant: a deactivated account never gets one (:class:`Conflict` ``staff_inactive``), so
    no caller (CLI, demo, sign-in) has to remember to check."""
    if not user.active:
        raise Conflict(f"staff user {user.username!r} is deactivated", code_hint="staff_inactive")
    token = new_token("staff")
    user.api_token_hash = hash_token(token)
    session.flush()
    record_event(session, actor, "staff.token", f"staff:{user.id}")
    return token


def authenticate_staff(session: Session, username: str, password: str) -> StaffUser:
    """The active staff user with this username and password, or :class:`Unauthorized`.

    The refusal is the same whichever part was wrong (unknown user, deactivated user, wrong
    password), and an unknown user still costs one argon2 verification, so neither the answer
    nor its timing tells a caller which usernames exist."""
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except VerificationError as exc:
        raise Unauthorized("wrong username or password") from exc
    if user is None or not user.active:
        raise Unauthorized("wrong username or password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        session.flush()
    return user


def sign_in_staff(session: Session, username: str, password: str) -> tuple[StaffUser, str]:
    """Check the password and hand out a fresh API token (shown once).  A user holds one
    token at a time: signing in again ends the previous token.  Audit-logged."""
    user = authenticate_staff(session, username, password)
    return user, issue_api_token(session, user, actor=f"staff:{user.id}")


def get_staff(session: Session, username: str) -> StaffUser:
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None:
        raise NotFound(f"no staff user {username!r}")
    return user


def list_staff(session: Session, store_id: int | None = None) -> list[StaffUser]:
    """Staff by username; with ``store_id``, only the people bound to that store."""
    query = select(StaffUser).order_by(StaffUser.username)
    if store_id is not None:
        query = query.where(StaffUser.store_id == store_id)
    return list(session.scalars(query))


def deactivate_staff(session: Session, username: str, actor: str = "cli") -> StaffUser:
    """Switch an account off: it can neither sign in nor use its API token, which is also
    dropped (so reactivating it later would not revive an old token).  The row stays, because
    audit events and adjustments name it.  Deactivating twice is a no-op.  Audit-logged."""
    user = get_staff(session, username)
    if user.active:
        user.active = False
        user.api_token_hash = None
        session.flush()
        record_event(session, actor, "staff.deactivate", f"staff:{user.id}")
    return user


@cache
def _dummy_hash() -> str:
    return _hasher.hash("no such user: verified only to take the usual time")
