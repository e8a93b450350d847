"""Steps the browser journeys share: joining through the pages, a sale through the API."""

from __future__ import annotations

import json
import urllib.request
import uuid

from sqlalchemy.orm import Session

from loyalty.rules.models import RuleKind
from loyalty.rules.services import add_earning_rule
from tests.factories import LONG_AGO, make_store, till_token
from tests.web.members import PASSWORD, last_code


def join_in_browser(page, mailbox, email: str, name: str, language: str = "en") -> None:  # type: ignore[no-untyped-def]
    """Fill in the join form, then the code from the mail: the page ends on the account."""
    page.goto(f"/my/join?lang={language}")
    page.fill("#name", name)
    page.fill("#contact", email)
    page.fill("#password", PASSWORD)
    page.click("form[action$='/my/join'] button[type=submit]")
    page.wait_for_url("**/my/verify")
    page.fill("#code", last_code(mailbox, email))
    page.click("form[action$='/my/verify'] button[type=submit]")
    page.wait_for_url("**/my/")


def a_store_with_a_till(db: Session) -> dict[str, str]:
    """An AED store earning 1 point per AED; returns the till's headers."""
    store = make_store(db, "AED")
    store.name = "Marina Mall"
    add_earning_rule(db, "1 point per AED", RuleKind.BASE, valid_from=LONG_AGO)
    token = till_token(db, store)
    db.commit()
    return {"Authorization": f"Bearer {token}"}


def checkout(base_url: str, till: dict[str, str], card: str, price_minor: int) -> dict:
    """One line, paid in full, through the API as a till sends it."""
    body = {"currency": "AED", "card_number": card,
            "lines": [{"sku": "TEA", "quantity": 1, "unit_price_minor": price_minor}]}
    request = urllib.request.Request(
        f"{base_url}/api/v1/checkouts", data=json.dumps(body).encode(), method="POST",
        headers={**till, "Content-Type": "application/json",
                 "Idempotency-Key": str(uuid.uuid4())})
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - our own server
        return json.load(answer)
