"""Signing a test browser in through the pages' own form."""

from __future__ import annotations

from sqlalchemy.orm import Session

from loyalty.staff.models import Role
from loyalty.staff.services import add_staff
from tests.web.forms import post_form

PASSWORD = "correct horse battery"


def sign_in_browser(client, db: Session, username: str = "noor") -> str:  # type: ignore[no-untyped-def]
    """Sign in as a new admin; returns the session cookie set."""
    add_staff(db, username, PASSWORD, Role.ADMIN)
    db.commit()
    resp = post_form(client, "/sign-in", {"username": username, "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return resp.headers["Set-Cookie"]
