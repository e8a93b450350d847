"""The portal's secret checks are rate-limited through its own forms: password and code
attempts per contact and address, and codes sent per contact and address (a flood of codes
to one phone or mailbox stops)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from limits import parse

from loyalty.app import create_app
from loyalty.config import Settings
from tests.web.forms import post_form
from tests.web.members import PASSWORD, join_and_verify

ATTEMPTS = parse(Settings.member_sign_in_limit.split(";")[0]).amount
CODES = parse(Settings.one_time_code_limit.split(";")[0]).amount


def test_password_attempts_stop_at_the_limit_even_for_the_right_one(client, mailbox):
    join_and_verify(client, mailbox, "mariam@example.net")
    client.delete_cookie("session")
    for _ in range(ATTEMPTS - 1):  # confirming the contact at joining was the first attempt
        wrong = post_form(client, "/my/sign-in", {"contact": "mariam@example.net",
                                                  "password": "not it at all"})
        assert wrong.status_code == 401
    limited = post_form(client, "/my/sign-in", {"contact": "mariam@example.net",
                                                "password": PASSWORD})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert "Too many attempts" in limited.get_data(as_text=True)
    # Another member's sign-in from the same address is not held up by it.
    assert post_form(client, "/my/sign-in", {"contact": "omar@example.net",
                                             "password": PASSWORD}).status_code == 401


def test_codes_sent_to_one_contact_stop_at_the_limit(client, mailbox):
    join_and_verify(client, mailbox, "mariam@example.net")
    client.delete_cookie("session")
    sent_before = len(mailbox.received)
    for _ in range(CODES - 1):  # the code sent at joining was the first
        resp = post_form(client, "/my/reset/send", {"contact": "mariam@example.net"})
        assert resp.status_code == 302
    limited = post_form(client, "/my/reset/send", {"contact": "mariam@example.net"})
    assert limited.status_code == 429
    assert len(mailbox.received) - sent_before == CODES - 1


@pytest.mark.parametrize("action", ["/my/verify", "/my/sign-in/code", "/my/reset"])
def test_code_attempts_count_against_the_contact_in_the_session(settings, mailbox, action):
    app = create_app(replace(settings, member_sign_in_limit="2 per minute"))
    client = app.test_client()
    pending = {"/my/verify": "verify", "/my/sign-in/code": "sign_in", "/my/reset": "reset"}
    with client.session_transaction() as session:
        session["pending_contact"] = ["mariam@example.net", pending[action]]
    for _ in range(2):
        assert post_form(client, action, {"code": "000000",
                                          "password": "fresh quince 88"}).status_code == 401
    assert post_form(client, action, {"code": "000000"}).status_code == 429
    app.extensions["loyalty.db"].engine.dispose()
