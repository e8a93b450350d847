"""Rate limits on secret checks, through HTTP, with the limits the settings ship with.

(Across gunicorn workers with Redis: tests/deploy/test_rate_limits.py.)
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from limits import parse

from loyalty.app import create_app
from loyalty.auth.policy import ADMIN, CASHIER, TILL
from loyalty.cards.numbers import make_card_number
from loyalty.config import Settings, SettingsError
from loyalty.staff.models import Role
from loyalty.staff.services import add_staff
from tests.auth.chain import PASSWORD
from tests.factories import make_member
from tests.web.forms import csrf_token

SESSIONS = "/api/v1/staff/sessions"
PER_ACCOUNT = parse(Settings.sign_in_limit_per_account.split(";")[0]).amount
MISSES = parse(Settings.lookup_miss_limit).amount


@pytest.fixture
def amal(db, chain):  # type: ignore[no-untyped-def]
    user = add_staff(db, "amal", PASSWORD, Role.CASHIER, chain.store.id)
    add_staff(db, "basel", PASSWORD, Role.CASHIER, chain.store.id)
    db.commit()
    return user


def _sign_in(client, username: str, password: str, address: str = "10.0.0.1"):  # type: ignore[no-untyped-def]
    return client.post(SESSIONS, json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def _assert_limited(resp) -> None:  # type: ignore[no-untyped-def]
    assert resp.status_code == 429, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    assert resp.json["code"] == "too_many_requests"
    assert 1 <= int(resp.headers["Retry-After"]) <= 61  # the minute's window, rounded up


def test_sign_in_attempts_are_limited_per_account_and_address(client, amal):
    for _ in range(PER_ACCOUNT):
        assert _sign_in(client, "amal", "not the password").status_code == 401
    limited = _sign_in(client, "amal", PASSWORD)  # even the right password waits now
    _assert_limited(limited)
    assert "token" not in limited.get_data(as_text=True)
    # Another account from the same address, the same account from elsewhere: unaffected.
    assert _sign_in(client, "basel", PASSWORD).status_code == 201
    assert _sign_in(client, " AMAL", "x", address="10.0.0.1").status_code == 429  # same account
    assert _sign_in(client, "amal", PASSWORD, address="10.0.0.2").status_code == 201


def test_sign_in_attempts_are_limited_per_address_over_all_accounts(settings, db, amal):
    app = create_app(replace(settings, sign_in_limit_per_address="3 per minute"))
    client = app.test_client()
    for name in ("amal", "basel", "nobody"):
        assert _sign_in(client, name, "not the password").status_code == 401
    _assert_limited(_sign_in(client, "someone.else", "not the password"))
    assert _sign_in(client, "amal", PASSWORD, address="10.0.0.2").status_code == 201
    app.extensions["loyalty.db"].engine.dispose()


def test_the_sign_in_form_of_the_pages_counts_into_the_same_limit(client, amal):
    for _ in range(PER_ACCOUNT):
        assert _sign_in(client, "amal", "not the password").status_code == 401
    token = csrf_token(client, "/sign-in")
    page = client.post("/sign-in", data={"username": "amal", "password": PASSWORD,
                                         "csrf_token": token},
                       environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert page.status_code == 429
    assert int(page.headers["Retry-After"]) >= 1


def test_card_numbers_that_miss_are_limited_per_caller(client, db, settings, chain):
    member, card = make_member(db, settings)
    db.commit()
    till, other_till = chain.headers(TILL), chain.headers(TILL, chain.other)
    guesses = [make_card_number(settings.card_prefix, settings.card_length)
               for _ in range(MISSES)]
    for number in guesses:
        resp = client.get(f"/api/v1/cards/{number}", headers=till)
        assert (resp.status_code, resp.json["code"]) == (404, "unknown_card")
    # Now even a real card is refused to this caller: guessing has stopped paying.
    _assert_limited(client.get(f"/api/v1/cards/{card.number}", headers=till))
    found = client.get(f"/api/v1/cards/{card.number}", headers=other_till)
    assert found.status_code == 200, found.json


def test_hits_do_not_count_against_a_busy_till(client, db, settings, chain):
    _member, card = make_member(db, settings)
    db.commit()
    till = chain.headers(TILL)
    for _ in range(MISSES + 5):
        assert client.get(f"/api/v1/cards/{card.number}", headers=till).status_code == 200


def test_coupon_codes_that_miss_share_the_limit(client, chain):
    cashier = chain.headers(CASHIER)
    for i in range(MISSES):
        code = f"{i:011d}"
        assert client.get(f"/api/v1/coupons/{code}", headers=cashier).status_code in {404, 422}
    _assert_limited(client.get("/api/v1/coupons/7KQ2-M9XD-4RWC", headers=cashier))
    assert client.get("/api/v1/coupons/7KQ2-M9XD-4RWC",
                      headers=chain.headers(ADMIN)).status_code in {404, 422}


def test_a_malformed_limit_is_refused_at_start_up(settings):
    with pytest.raises(SettingsError, match="LOYALTY_LOOKUP_MISS_LIMIT"):
        create_app(replace(settings, lookup_miss_limit="plenty"))
