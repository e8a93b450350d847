"""A payment card number in a card URL is refused, never echoed, logged or stored."""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request

import pytest
from werkzeug.serving import make_server

from tests.factories import database_contains, make_member

TEST_PAN = "4111111111111111"  # Visa's published test number
SPACED_PAN = "4111 1111 1111 1111"


@pytest.mark.parametrize("number", [TEST_PAN, SPACED_PAN, "5555555555554444", "378282246310005"])
def test_every_card_endpoint_refuses_a_payment_card(client, db, desk, settings, caplog, number):
    caplog.set_level(logging.DEBUG)
    make_member(db, settings)
    db.commit()
    calls = [
        ("get", "", desk("till")),
        ("post", "/block", desk("cashier")),
        ("post", "/replace", desk("admin")),
        ("get", "/barcode.svg", desk("cashier")),
        ("get", "/qr.png", desk("cashier")),
    ]
    for method, suffix, headers in calls:
        kwargs = {"json": {"reason": number}} if method == "post" else {}
        resp = getattr(client, method)(f"/api/v1/cards/{number}{suffix}", headers=headers,
                                       **kwargs)
        assert resp.status_code == 422 and resp.json["code"] == "payment_card", suffix
        text = resp.get_data(as_text=True)
        assert number not in text and number.replace(" ", "") not in text
    digits = number.replace(" ", "")
    assert digits not in caplog.text and number not in caplog.text
    assert not database_contains(db, digits)


def test_the_access_log_of_a_real_server_never_shows_a_payment_card(app, db, desk, caplog):
    """Werkzeug's server logs the request line itself; our filter masks the number first."""
    headers = desk("till")
    caplog.set_level(logging.INFO)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.server_port}/api/v1/cards/{TEST_PAN}", headers=headers)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310 - our loopback server
        assert refused.value.code == 422
        assert TEST_PAN not in refused.value.read().decode()
    finally:
        server.shutdown()
        thread.join(5)
    access = [r for r in caplog.records if r.name == "werkzeug"]
    assert access, "the server should have written an access-log line"
    assert "/api/v1/cards/" in access[-1].getMessage()  # the line is there, the number is not
    assert TEST_PAN not in caplog.text
    assert not database_contains(db, TEST_PAN)
