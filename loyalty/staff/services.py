"""Staff accounts: argon2id password hashes, API tokens, roles bound to stores."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from loyalty.audit.services import record_event
from loyalty.auth.passwords import hash_password, needs_rehash, password_matches
from loyalty.auth.tokens import hash_token, new_token
from loyalty.db import utcnow
from loyalty.errors import Conflict, InvalidInput, NotFound, Unauthorized
from loyalty.staff.models import Role, StaffSession, StaffUser

STORE_BOUND = {Role.STORE_MANAGER, Role.CASHIER}
MIN_PASSWORD = 10
SESSION_TOKEN_PREFIX = "session"  # noqa: S105 - a prefix, not a secret: says which table


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
        password_hash=hash_password(password),
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
    if not password_matches(user.password_hash if user else None, password):
        raise Unauthorized("wrong username or password")
    if user is None or not user.active:
        raise Unauthorized("wrong username or password")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.flush()
    return user


def sign_in_staff(
    session: Session, username: str, password: str, lifetime: dt.timedelta,
    now: dt.datetime | None = None,
) -> tuple[StaffUser, str]:
    """Check the password and open a new session for the user; its token is shown once.

    Signing in never ends anything: the user's other sessions (another till, a phone) and the
    long-lived API token keep working.  The user's sessions that have ended or expired are
    deleted here, so the table holds only live ones.  Audit-logged."""
    user = authenticate_staff(session, username, password)  # refuses a deactivated user
    now = now or utcnow()
    session.execute(delete(StaffSession).where(
        StaffSession.staff_id == user.id,
        or_(StaffSession.ended_at.is_not(None), StaffSession.expires_at <= now),
    ))
    token = new_token(SESSION_TOKEN_PREFIX)
    opened = StaffSession(staff_id=user.id, token_hash=hash_token(token), created_at=now,
                          expires_at=now + lifetime)
    session.add(opened)
    session.flush()
    record_event(session, f"staff:{user.id}", "staff.sign_in", f"staff:{user.id}",
                 session_id=opened.id, expires_at=opened.expires_at.isoformat())
    return user, token


def live_session(
    session: Session, token_hash: str, now: dt.datetime | None = None
) -> tuple[StaffUser, StaffSession] | None:
    """The active user and the session of this token, if it has neither ended nor expired."""
    row = session.execute(
        select(StaffUser, StaffSession)
        .join(StaffSession, StaffSession.staff_id == StaffUser.id)
        .where(StaffSession.token_hash == token_hash, StaffSession.ended_at.is_(None),
               StaffSession.expires_at > (now or utcnow()), StaffUser.active.is_(True))
    ).first()
    return (row[0], row[1]) if row else None


def end_staff_session(
    session: Session, session_id: int, actor: str, now: dt.datetime | None = None
) -> None:
    """Sign out: end this one session (the user's others go on).  Ending it twice is a no-op.
    Audit-logged."""
    ended = session.execute(
        update(StaffSession)
        .where(StaffSession.id == session_id, StaffSession.ended_at.is_(None))
        .values(ended_at=now or utcnow())
    ).rowcount
    if ended:
        record_event(session, actor, "staff.sign_out", actor, session_id=session_id)


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
    dropped (so reactivating it later would not revive an old token), nor any of its sessions,
    which end.  The row stays, because audit events and adjustments name it.  Deactivating
    twice is a no-op.  Audit-logged."""
    user = get_staff(session, username)
    if user.active:
        user.active = False
        user.api_token_hash = None
        session.execute(update(StaffSession)
                        .where(StaffSession.staff_id == user.id, StaffSession.ended_at.is_(None))
                        .values(ended_at=utcnow()))
        session.flush()
        record_event(session, actor, "staff.deactivate", f"staff:{user.id}")
    return user


