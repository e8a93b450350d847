"""Staff sign-in sessions through HTTP: each sign-in opens one, sign-out ends one, they expire.

A shop's cashier signs in at a till and on a phone; a manager scripts with the API token that
``loyalty staff token`` (or ``make demo``) printed.  None of these may end another.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from loyalty.app import create_app
from loyalty.audit.models import AuditEvent
from loyalty.db import utcnow
from loyalty.staff.models import Role, StaffSession, StaffUser
from loyalty.staff.services import add_staff, deactivate_staff, issue_api_token
from tests.auth.chain import PASSWORD
from tests.factories import auth

SESSIONS = "/api/v1/staff/sessions"
CURRENT = "/api/v1/staff/sessions/current"
PROBE = "/api/v1/members/999/ledger"  # a cashier's call: 404 when signed in, 401 when not


@pytest.fixture
def amal(db, chain) -> StaffUser:
    user = add_staff(db, "amal", PASSWORD, Role.CASHIER, chain.store.id, "Amal Nasser")
    db.commit()
    return user


def _sign_in(client) -> str:  # type: ignore[no-untyped-def]
    resp = client.post(SESSIONS, json={"username": "amal", "password": PASSWORD})
    assert resp.status_code == 201, resp.json
    return resp.json["token"]


def _works(client, token: str) -> bool:  # type: ignore[no-untyped-def]
    status = client.get(PROBE, headers=auth(token)).status_code
    assert status in {401, 404}
    return status == 404


def test_signing_in_again_keeps_the_other_sessions_and_the_api_token(client, db, amal):
    api_token = issue_api_token(db, amal)  # what `loyalty staff token` and `make demo` print
    db.commit()
    till, phone = _sign_in(client), _sign_in(client)
    assert till != phone
    assert _works(client, till) and _works(client, phone) and _works(client, api_token)


def test_signing_out_ends_only_the_session_used(client, db, amal):
    api_token = issue_api_token(db, amal)
    db.commit()
    till, phone = _sign_in(client), _sign_in(client)
    resp = client.delete(CURRENT, headers=auth(till))
    assert resp.status_code == 204, resp.get_data(as_text=True)
    assert not _works(client, till)
    assert _works(client, phone) and _works(client, api_token)
    again = client.delete(CURRENT, headers=auth(till))
    assert (again.status_code, again.json["code"]) == (401, "unauthorized")
    db.expire_all()
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.subject == f"staff:{amal.id}")
                         .order_by(AuditEvent.id)).all()
    assert actions[-3:] == ["staff.sign_in", "staff.sign_in", "staff.sign_out"]


def test_an_api_token_cannot_sign_out(client, db, amal):
    api_token = issue_api_token(db, amal)
    db.commit()
    resp = client.delete(CURRENT, headers=auth(api_token))
    assert (resp.status_code, resp.json["code"]) == (409, "not_a_session")
    assert _works(client, api_token)


def test_a_session_ends_when_it_expires(client, db, amal):
    token = _sign_in(client)
    assert _works(client, token)
    opened = db.scalar(select(StaffSession))
    opened.expires_at = utcnow() - dt.timedelta(seconds=1)  # its lifetime has run out
    db.commit()
    assert not _works(client, token)


def test_the_lifetime_is_the_configured_one(settings, db, amal):
    app = create_app(replace(settings, staff_session_hours=3))
    _sign_in(app.test_client())
    db.expire_all()
    opened = db.scalar(select(StaffSession))
    assert opened.expires_at - opened.created_at == dt.timedelta(hours=3)
    app.extensions["loyalty.db"].engine.dispose()


def test_signing_in_clears_away_ended_and_expired_sessions(client, db, amal):
    old = _sign_in(client)
    client.delete(CURRENT, headers=auth(old))
    _sign_in(client)
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(StaffSession)) == 1


def test_deactivating_an_account_ends_its_sessions(client, db, amal):
    token = _sign_in(client)
    deactivate_staff(db, "amal")
    db.commit()
    assert not _works(client, token)
    db.expire_all()
    assert db.scalar(select(StaffSession.ended_at)) is not None


def test_session_tokens_are_stored_only_as_hashes(client, db, amal):
    token = _sign_in(client)
    db.expire_all()
    stored = db.scalar(select(StaffSession.token_hash))
    assert token not in stored and len(stored) == 64
