"""The HTTP client against a real back office, a silent server and stand-ins for 5xx/429."""

from __future__ import annotations

import http.server
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from pos_agent.client import DEFAULT_TIMEOUT, BackOffice, Offline, Refused
from tests.pos_agent.offline.conftest import PRODUCTS, BackOfficeServer, Proxy, sale_body

TEST_PAN = "4111111111111111"  # Visa's published test number
UNKNOWN = "9871000000000007"  # a programme number (Luhn-valid) no member holds


def test_identify_answers_with_member_and_balance(back_office: BackOfficeServer) -> None:
    answer = back_office.client().identify(back_office.cards[0])
    assert answer["member"]["id"] == back_office.member_ids[0]
    assert answer["balance"] == 10_000


def test_unknown_card_is_refused_with_the_problem_code(back_office: BackOfficeServer) -> None:
    with pytest.raises(Refused) as err:
        back_office.client().identify(UNKNOWN)
    assert (err.value.status, err.value.code) == (404, "unknown_card")
    assert err.value.problem["status"] == 404


def test_a_wrong_token_is_refused_401(back_office: BackOfficeServer) -> None:
    with pytest.raises(Refused) as err:
        BackOffice(back_office.url, "not-a-token").identify(back_office.cards[0])
    assert err.value.status == 401


def test_card_number_never_in_logs_or_errors(back_office: BackOfficeServer, closed_port: str,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="pos_agent")
    with pytest.raises(Refused) as refused:
        back_office.client().identify(UNKNOWN)
    back_office.client().identify(back_office.cards[1])
    with pytest.raises(Offline) as offline:
        back_office.client(url=closed_port).identify(back_office.cards[1])
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("pos_agent"))
    assert ours.count("/api/v1/cards/{number}") == 3  # every call logged, without the number
    for text in (ours, str(refused.value), str(offline.value)):
        assert UNKNOWN not in text and back_office.cards[1] not in text


def test_a_payment_card_is_refused_before_anything_is_sent(back_office: BackOfficeServer,
                                                           proxy: Proxy) -> None:
    client = back_office.client(url=proxy.url)
    with pytest.raises(Refused) as err:
        client.identify(TEST_PAN)
    assert err.value.code == "payment_card" and TEST_PAN not in str(err.value)
    client.identify(back_office.cards[0])  # the proxy does see ordinary traffic
    assert b"/api/v1/cards/" in proxy.sent and TEST_PAN.encode() not in proxy.sent


def test_find_member_by_phone(back_office: BackOfficeServer) -> None:
    client = back_office.client()
    assert client.find_member(back_office.phones[2])["id"] == back_office.member_ids[2]
    with pytest.raises(Refused) as err:
        client.find_member("+971509999999")
    assert err.value.code == "unknown_member"


def test_quote_then_commit_is_idempotent(back_office: BackOfficeServer) -> None:
    client = back_office.client()
    body = sale_body(back_office.cards[0], "q-1")
    quote = client.quote(body)
    key = uuid.uuid4().hex
    first = client.commit(body, key)
    again = client.commit(body, key)
    assert first == again and first["points_earned"] == quote["points_earned"] > 0
    assert back_office.baskets_by_ref()["q-1"] == 1


def test_products_page_through_the_catalog(back_office: BackOfficeServer) -> None:
    products = list(back_office.client().products(None, page_size=2))
    assert sorted(p["sku"] for p in products) == sorted(p[0] for p in PRODUCTS)


def test_public_key_is_pem(back_office: BackOfficeServer) -> None:
    assert "BEGIN PUBLIC KEY" in back_office.client().public_key()


def test_default_timeout_is_two_seconds() -> None:
    assert DEFAULT_TIMEOUT == 2.0
    assert BackOffice("http://127.0.0.1:1", "t").timeout == 2.0


@pytest.mark.parametrize("call", ["identify", "commit"])
def test_a_silent_back_office_is_offline_within_the_timeout(silent_server: str,
                                                            call: str) -> None:
    client = BackOffice(silent_server, "token", timeout=0.4)
    started = time.monotonic()
    with pytest.raises(Offline, match="timed out"):
        if call == "identify":
            client.identify(UNKNOWN)
        else:
            client.commit(sale_body(UNKNOWN, "x"), uuid.uuid4().hex)
    assert 0.35 <= time.monotonic() - started < 0.4 + 0.25


def test_a_trickling_back_office_is_offline_within_the_timeout(trickling_server: str) -> None:
    client = BackOffice(trickling_server, "token", timeout=0.4)
    started = time.monotonic()
    with pytest.raises(Offline, match="timed out"):
        client.identify(UNKNOWN)
    assert time.monotonic() - started < 0.4 + 0.25


def test_a_refused_connection_is_offline(closed_port: str) -> None:
    with pytest.raises(Offline, match="connection refused"):
        BackOffice(closed_port, "token").identify(UNKNOWN)


class _Canned(http.server.BaseHTTPRequestHandler):
    """Answers every request with the status and body set on the server, keeping the
    connection open (HTTP/1.1) unless the server's ``hang_up`` is set: then it closes the
    connection after answering without saying so, as a server timing out an idle one."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1  # type: ignore[attr-defined]

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        status, ctype, body = self.server.canned  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = self.server.hang_up  # type: ignore[attr-defined]

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _serving(handler: type[http.server.BaseHTTPRequestHandler]
             ) -> Iterator[http.server.ThreadingHTTPServer]:
    """``handler`` served on a free local port for the block's length."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def canned() -> Iterator[http.server.HTTPServer]:
    with _serving(_Canned) as server:
        server.connections, server.hang_up = 0, False  # type: ignore[attr-defined]
        yield server


PROBLEM = "application/problem+json"


@pytest.mark.parametrize(("status", "ctype", "body", "outcome"), [
    (503, PROBLEM, b'{"code": "unavailable"}', Offline),
    (500, "text/html", b"<h1>oops</h1>", Offline),
    (502, "text/html", b"bad gateway", Offline),
    (429, PROBLEM, b'{"code": "rate_limited"}', Offline),
    (409, PROBLEM, b'{"code": "request_in_flight"}', Offline),  # not done yet: retry later
    (409, PROBLEM, b'{"code": "conflict"}', Refused),
    (422, PROBLEM, b'{"code": "currency_mismatch", "detail": "AED only"}', Refused),
    (404, "text/html", b"<h1>not found</h1>", Refused),
    (200, "text/html", b"<h1>captive portal</h1>", Offline),  # not an answer from us
])
def test_status_mapping(canned: http.server.HTTPServer, status: int, ctype: str, body: bytes,
                        outcome: type[Exception]) -> None:
    canned.canned = (status, ctype, body)  # type: ignore[attr-defined]
    client = BackOffice(f"http://127.0.0.1:{canned.server_port}", "token", timeout=1)
    with pytest.raises(outcome) as err:
        client.public_key_info()
    if isinstance(err.value, Refused):
        assert err.value.status == status
        expected = json.loads(body)["code"] if ctype == PROBLEM else f"http_{status}"
        assert err.value.code == expected


def test_one_connection_is_kept_alive(canned: http.server.HTTPServer) -> None:
    canned.canned = (200, "application/json", b'{"pem": "x"}')  # type: ignore[attr-defined]
    client = BackOffice(f"http://127.0.0.1:{canned.server_port}", "token", timeout=1)
    for _ in range(3):
        client.public_key_info()
    assert canned.connections == 1  # type: ignore[attr-defined]


def test_a_keep_alive_connection_closed_by_the_server_is_retried(
        canned: http.server.HTTPServer) -> None:
    canned.canned = (200, "application/json", b'{"pem": "x"}')  # type: ignore[attr-defined]
    canned.hang_up = True  # type: ignore[attr-defined]
    client = BackOffice(f"http://127.0.0.1:{canned.server_port}", "token", timeout=1)
    assert client.public_key_info() == {"pem": "x"}
    time.sleep(0.05)  # the server has hung up by now; the client does not know
    assert client.public_key_info() == {"pem": "x"}
    assert canned.connections == 2  # type: ignore[attr-defined]


class _SlowBatch(http.server.BaseHTTPRequestHandler):
    """A back office that takes 0.5 s over any request, then answers a batch as received."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        data = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        items = data.get("checkouts", [])
        time.sleep(0.5)
        body = json.dumps({"results": [{"idempotency_key": i["idempotency_key"], "status": 201,
                                        "body": {"basket_id": n}}
                                       for n, i in enumerate(items)]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


def test_a_batch_gets_more_time_than_a_till_call() -> None:
    with _serving(_SlowBatch) as server:
        client = BackOffice(f"http://127.0.0.1:{server.server_port}", "token", timeout=0.3)
        with pytest.raises(Offline, match="timed out"):
            client.commit({"lines": []}, "k0")
        results = client.commit_batch([(f"k{n}", {"lines": []}) for n in range(3)])
        assert [r["idempotency_key"] for r in results] == ["k0", "k1", "k2"]
