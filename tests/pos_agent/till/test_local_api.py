"""The local API over real HTTP on 127.0.0.1: the token, the limits, problem+json, the routes.

The session behind it runs on the real outbox and cache with the fake back office (conftest).
"""

from __future__ import annotations

import http.client
import json

import pytest

from pos_agent.local_api import HOST, MAX_BODY_BYTES, LocalApi
from tests.pos_agent.till.conftest import LAYLA
from tests.pos_agent.till.helpers import LOCAL_TOKEN, call

PROBLEM = "application/problem+json"


@pytest.fixture
def api(session):  # type: ignore[no-untyped-def]
    server = LocalApi(session, LOCAL_TOKEN, port=0, status=lambda: {"online": True}).start()
    yield server.url
    server.stop()


def test_it_listens_on_the_loopback_interface_only(session) -> None:
    server = LocalApi(session, LOCAL_TOKEN, port=0)
    try:
        assert server._server.server_address[0] == HOST == "127.0.0.1"
    finally:
        server.stop()


def test_a_short_token_is_refused(session) -> None:
    with pytest.raises(ValueError, match="16 characters"):
        LocalApi(session, "short", port=0)


@pytest.mark.parametrize("token", [None, "", "wrong-token-wrong-token-wrong", LOCAL_TOKEN[:-1],
                                   LOCAL_TOKEN + "x"])
def test_without_the_token_nothing_happens(api, session, token) -> None:  # type: ignore[no-untyped-def]
    status, kind, problem = call(api, "POST", "/session/member", {"card_number": LAYLA},
                                 token=token)
    assert (status, kind, problem["code"]) == (401, PROBLEM, "unauthorised")
    assert session.view().member is None


@pytest.mark.parametrize(("method", "path", "body", "raw", "status", "code"), [
    ("POST", "/session/member", None, b"{not json", 400, "bad_json"),
    ("POST", "/session/member", None, b"[1, 2]", 422, "invalid_input"),
    ("POST", "/session/member", {}, None, 422, "invalid_input"),
    ("POST", "/session/member", {"card_number": LAYLA, "phone": "+9715"}, None, 422,
     "invalid_input"),
    ("POST", "/session/member", {"card_number": "4111111111111111"}, None, 422,
     "payment_card"),
    ("POST", "/session/member", {"card_number": LAYLA, "pin": "1234"}, None, 422,
     "invalid_input"),
    ("POST", "/session/lines", {"sku": "MILK", "quantity": -1}, None, 422, "invalid_input"),
    ("POST", "/session/lines", {"sku": "NOPE"}, None, 404, "unknown_product"),
    ("DELETE", "/session/lines/1", None, None, 404, "unknown_line"),
    ("POST", "/session/commit", {}, None, 409, "empty_basket"),
    ("POST", "/session/commit", {"redeem_points": "all"}, None, 422, "invalid_input"),
    ("POST", "/session/cancel", None, None, 409, "illegal_step"),
    ("POST", "/session/coupons", {"code": "ABC"}, None, 409, "illegal_step"),
    ("GET", "/nowhere", None, None, 404, "no_endpoint"),
    ("DELETE", "/session", None, None, 405, "method_not_allowed"),
    ("GET", "/session/commit", None, None, 405, "method_not_allowed"),
])
def test_bad_requests_get_problem_json_and_change_nothing(  # type: ignore[no-untyped-def]
        api, session, method, path, body, raw, status, code) -> None:
    before = session.view()
    answer = call(api, method, path, body, raw=raw)
    assert answer[:2] == (status, PROBLEM), answer
    assert answer[2]["code"] == code and answer[2]["status"] == status and answer[2]["detail"]
    assert "4111111111111111" not in json.dumps(answer[2])
    assert session.view() == before


def test_a_body_over_the_limit_is_refused_unread(api, session) -> None:
    conn = http.client.HTTPConnection(api.removeprefix("http://"), timeout=5)
    conn.putrequest("POST", "/session/lines")
    conn.putheader("Authorization", f"Bearer {LOCAL_TOKEN}")
    conn.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
    conn.endheaders()
    answer = conn.getresponse()
    assert answer.status == 413 and json.loads(answer.read())["code"] == "body_too_large"
    assert session.view().lines == ()
    conn.close()


def test_a_whole_sale(api, back_office, slips) -> None:
    assert call(api, "POST", "/session/member", {"phone": "+971501234567"})[0] == 200
    status, _, view = call(api, "POST", "/session/lines", {"sku": "MILK", "quantity": 3})
    assert status == 201 and view["lines"][0]["total_minor"] == 1950
    payload = back_office.coupon(member_id=1)
    status, _, view = call(api, "POST", "/session/coupons", {"payload": payload})
    assert status == 201 and view["coupons"][0]["signed"]
    code = view["coupons"][0]["code"]
    assert call(api, "DELETE", f"/session/coupons/{code}")[2]["coupons"] == []
    status, _, view = call(api, "POST", "/session/quote")
    assert view["quote"]["max_redeemable_points"] == 800
    status, _, answer = call(api, "POST", "/session/commit", {"redeem_points": 50})
    assert status == 201 and answer["sale"]["status"] == "accepted"
    assert answer["sale"]["balance_after"] == 800 - 50 + 19
    assert answer["session"]["last_sale"]["idempotency_key"] == answer["sale"]["idempotency_key"]
    assert call(api, "GET", "/status") == (200, "application/json", {"online": True})
    assert len(slips) == 1
