"""The local API over real HTTP on 127.0.0.1: the token, the limits, problem+json, the routes.

The session behind it runs on the real outbox and cache with the fake back office (conftest).
"""

from __future__ import annotations

import http.client
import json
import socket
from dataclasses import dataclass
from typing import BinaryIO

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


@dataclass
class _Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def _exchange(sock: socket.socket, reader: BinaryIO, request: bytes) -> _Answer:
    """Send one request and read one answer from the connection's one reader (a reader per
    answer could swallow the bytes of a next, unasked-for answer in its buffer)."""
    sock.sendall(request)
    status = int(reader.readline().split()[1])
    headers = {}
    while (line := reader.readline().decode().strip()):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return _Answer(status, headers, reader.read(int(headers["content-length"])))


def _request(method: str, path: str, body: bytes = b"", token: str | None = LOCAL_TOKEN) -> bytes:
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}",
            "Content-Type: application/json"]
    if token is not None:
        head.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


# What the body of the first request could do if it were left unread: read as a request line.
SMUGGLED = b'GET /session HTTP/1.1\r\nHost: x\r\n\r\n'


@pytest.mark.parametrize(("first", "status"), [
    (_request("POST", "/session/member", b'{"card_number": "%s"}' % LAYLA.encode(),
              token=None), 401),
    (_request("POST", "/session/member", b'{"card_number": "%s"}' % LAYLA.encode(),
              token="wrong-token-wrong-token"), 401),
    (_request("POST", "/session/member", SMUGGLED, token=None), 401),
    (_request("POST", "/nowhere", b'{"x": 1}'), 404),
    (_request("PUT", "/session", b'{"x": 1}'), 405),
    (_request("POST", "/session/member", b"{not json"), 400),
])
def test_an_answered_body_never_becomes_the_next_request(api, session, first, status) -> None:  # type: ignore[no-untyped-def]
    with _connect(api) as sock, sock.makefile("rb") as reader:
        answer = _exchange(sock, reader, first)
        assert answer.status == status and answer.headers.get("connection") != "close"
        assert json.loads(answer.body)["status"] == status
        # the same connection, kept alive: the next answer is to the next request
        second = _exchange(sock, reader, _request("GET", "/session"))
        assert second.status == 200, second.body
        assert json.loads(second.body)["step"] == "idle"
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):  # and nothing more was answered
            reader.read(1)
    assert session.view().member is None


@pytest.mark.parametrize(("head", "status", "code"), [
    ("Transfer-Encoding: chunked", 411, "length_required"),
    (f"Content-Length: {MAX_BODY_BYTES + 1}", 413, "body_too_large"),
    ("Content-Length: 12x", 400, "bad_length"),
])
def test_a_body_that_cannot_be_read_closes_the_connection(api, head, status, code) -> None:  # type: ignore[no-untyped-def]
    request = (f"POST /session/member HTTP/1.1\r\nHost: x\r\n{head}\r\n\r\n").encode() + SMUGGLED
    with _connect(api) as sock, sock.makefile("rb") as reader:
        answer = _exchange(sock, reader, request)
        assert (answer.status, json.loads(answer.body)["code"]) == (status, code)
        assert answer.headers["connection"] == "close"
        assert reader.read() == b""  # closed: the unread bytes are never taken as a request


def _connect(api: str) -> socket.socket:
    host, port = api.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=5)
