"""The signed-in member of this browser, kept in Flask's signed session cookie.

Signing in clears the session first (a new cookie, a new CSRF token: nothing set before
sign-in survives it) and stamps the time: after ``LOYALTY_MEMBER_SESSION_DAYS`` the member
signs in again.  A member whose account is gone or unverified is signed out on their next
request."""

from __future__ import annotations

import time

from flask import current_app, g, session

from loyalty.accounts.services import login_of
from loyalty.http import db_session
from loyalty.members.models import Member

_MEMBER = "member_id"
_SINCE = "member_since"
_PENDING = "pending_contact"  # the contact a code was sent to, between the two steps


def sign_in_member(member: Member) -> None:
    session.clear()
    session[_MEMBER] = member.id
    session[_SINCE] = int(time.time())


def sign_out_member() -> None:
    session.clear()


def signed_in_member() -> Member | None:
    """This browser's member, loaded once per request."""
    if "member" in g:
        return g.member
    g.member = _load()
    if g.member is not None:
        g.member_language = g.member.language
    return g.member


def _load() -> Member | None:
    member_id, since = session.get(_MEMBER), session.get(_SINCE)
    if not isinstance(member_id, int) or not isinstance(since, int):
        return None
    days = current_app.extensions["loyalty.settings"].member_session_days
    if time.time() - since > days * 86400:
        session.clear()
        return None
    login = login_of(db_session(), member_id)
    if login is None or login.verified_at is None:
        session.clear()
        return None
    return db_session().get(Member, member_id)


def remember_pending(contact_text: str, purpose: str) -> None:
    session[_PENDING] = [contact_text, purpose]


def pending(purpose: str) -> str | None:
    """The contact a code for ``purpose`` went to from this browser, if any."""
    value = session.get(_PENDING)
    if isinstance(value, list) and len(value) == 2 and value[1] == purpose:
        return str(value[0])
    return None


def forget_pending() -> None:
    session.pop(_PENDING, None)
