"""The agent's local HTTP API: how the store's own POS software drives the till session.

Bound to 127.0.0.1 only; every request needs ``Authorization: Bearer <local token>`` (compared
in constant time).  JSON in and out; errors are ``application/problem+json`` with a stable
``code``.  Every request's body is read in full before it is answered (a 401 included), so
a keep-alive connection never takes a body for the next request; a body that cannot be read
(over 64 KiB, chunked, a bad length) is refused unread and the connection closed.

Why the standard library (``http.server.ThreadingHTTPServer``) rather than Flask: ten small
endpoints on the loopback interface need no framework, and the till then runs no second web
stack (no debugger, no reloader, no extra dependency to keep patched on every lane).

Endpoints (documented with examples in docs/POS_AGENT.md)::

    GET    /session                      the sale in progress
    POST   /session/member               {"card_number": ...} or {"phone": ..., "region"?}
    POST   /session/lines                {"sku"|"barcode": ..., "quantity", "unit_price_minor"?}
    DELETE /session/lines/<n>            void line n (1-based)
    POST   /session/coupons              {"code": ...} or {"payload": "LC1...."}
    DELETE /session/coupons/<code>       take a coupon off the sale
    POST   /session/quote                price it (online) or estimate it (offline)
    POST   /session/commit               {"redeem_points": n}: outbox, then at most the timeout
    POST   /session/cancel               drop the sale
    GET    /status                       online, queue depth, dead letters, devices, last sync
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import asdict
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from loyalty.cards.numbers import looks_like_payment_card
from pos_agent.till import (
    PAYMENT_CARD_MESSAGE,
    AppliedCoupon,
    InvalidInput,
    Member,
    NotFound,
    Sale,
    TillError,
    TillSession,
    View,
)

log = logging.getLogger(__name__)

HOST = "127.0.0.1"  # never another interface: the token is the only other guard
MAX_BODY_BYTES = 64 * 1024
PROBLEM = "application/problem+json"

StatusFn = Callable[[], dict[str, Any]]


# --- JSON views ----------------------------------------------------------------------------------


def member_json(member: Member | None) -> dict[str, Any] | None:
    """The member as the POS sees it: the card masked (the POS sent it; no need to echo it)."""
    if member is None:
        return None
    return {
        "member_id": member.member_id, "name": member.name, "tier": member.tier,
        "balance": member.balance, "masked_card": member.masked_card or None,
        "via": member.via, "known": member.known, "from_cache": member.from_cache,
        "fetched_at": member.fetched_at.isoformat() if member.fetched_at else None,
    }


def coupon_json(coupon: AppliedCoupon) -> dict[str, Any]:
    return {"code": coupon.code, "description": coupon.description,
            "signed": coupon.payload is not None}


def sale_json(sale: Sale | None) -> dict[str, Any] | None:
    if sale is None:
        return None
    return {
        "idempotency_key": sale.key, "status": sale.status, "at": sale.at.isoformat(),
        "currency": sale.currency, "member": member_json(sale.member),
        "lines": [{**asdict(line), "total_minor": line.total_minor} for line in sale.lines],
        "coupons": [coupon_json(c) for c in sale.coupons],
        "redeem_points": sale.redeem_points, "subtotal_minor": sale.subtotal_minor,
        "coupon_discount_minor": sale.coupon_discount_minor,
        "payable_minor": sale.payable_minor, "points_earned": sale.points_earned,
        "balance_after": sale.balance_after, "reason": sale.reason, "offline": sale.offline,
        "slip_printed": sale.slip_printed,
    }


def view_json(view: View) -> dict[str, Any]:
    quote = asdict(view.quote) if view.quote else None
    return {
        "step": view.step.value,
        "member": member_json(view.member),
        "lines": [{"line": n, **asdict(line), "total_minor": line.total_minor}
                  for n, line in enumerate(view.lines, start=1)],
        "coupons": [coupon_json(c) for c in view.coupons],
        "currency": view.currency,
        "subtotal_minor": view.subtotal_minor,
        "quote": quote,
        "online": view.online,
        "queue_depth": view.queue_depth,
        "message": view.message,
        "last_sale": sale_json(view.last_sale),
    }


# --- the server ----------------------------------------------------------------------------------


class LocalApi:
    """The HTTP server in a thread.  ``port=0`` picks a free port (tests); see :attr:`port`."""

    def __init__(self, session: TillSession, token: str, *, port: int,
                 status: StatusFn | None = None) -> None:
        if len(token) < 16:
            raise ValueError("the local API token needs at least 16 characters")
        self.session = session
        self.status = status or (lambda: {})
        self._token = token.encode()
        self._server = _Server((HOST, port), _Handler)
        self._server.api = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> LocalApi:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={
            "poll_interval": 0.05}, name="local-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() would wait forever for a loop never started
            self._server.shutdown()
            self._thread.join(timeout=2)
            self._thread = None
        self._server.server_close()

    def authorised(self, header: str | None) -> bool:
        scheme, _, presented = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not presented:
            return False
        return hmac.compare_digest(presented.strip().encode(), self._token)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: LocalApi


_LINE = re.compile(r"^/session/lines/(\d{1,6})$")
_COUPON = re.compile(r"^/session/coupons/([A-Za-z0-9-]{1,64})$")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "pos-agent"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 10  # seconds a client may stall mid-request before its connection is dropped

    # -- plumbing -----------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        # Paths carry no card data (numbers travel in bodies); bodies are never logged.
        log.debug("local api: " + format, *args)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._handle("PATCH")

    def _handle(self, method: str) -> None:
        api = self.server.api
        try:
            # The body is read (or the connection marked to close) before any answer, a 401
            # included: bytes left unread on a keep-alive connection would be parsed as the
            # next request.
            raw = self._raw_body()
            if not api.authorised(self.headers.get("Authorization")):
                self._problem(401, "unauthorised", "send Authorization: Bearer <local token>",
                              extra_headers={"WWW-Authenticate": 'Bearer realm="pos-agent"'})
                return
            status, payload = self._route(method, self.path.split("?", 1)[0], _json_body(raw))
        except TillError as exc:
            self._problem(exc.status, exc.code, exc.message)
            return
        except _HttpError as exc:
            self._problem(exc.status, exc.code, exc.detail)
            return
        except Exception as exc:  # never a traceback (or a body) to the caller or the log
            log.error("local api failed: %s", type(exc).__name__)
            self._problem(500, "internal_error", "the agent failed; see its log")
            return
        self._send(status, payload, "application/json")

    def _raw_body(self) -> bytes:
        """The request's body, read in full; a body that cannot be read in full (chunked, a
        bad or too large length, the client stopped sending) closes the connection after the
        answer, since where the next request starts is then unknown."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise _HttpError(411, "length_required", "send Content-Length, not chunked")
        raw_length = self.headers.get("Content-Length") or "0"
        try:
            length = int(raw_length)
        except ValueError:
            self.close_connection = True
            raise _HttpError(400, "bad_length", "Content-Length is not a number") from None
        if length < 0:
            self.close_connection = True
            raise _HttpError(400, "bad_length", "Content-Length is negative")
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # the body stays unread
            raise _HttpError(413, "body_too_large", f"at most {MAX_BODY_BYTES} bytes")
        try:
            raw = self.rfile.read(length) if length else b""
        except TimeoutError:
            raw = b""
        if len(raw) < length:
            self.close_connection = True
            raise _HttpError(400, "short_body", "the body is shorter than Content-Length")
        return raw

    def _send(self, status: int, payload: Any, content_type: str,
              extra_headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _problem(self, status: int, code: str, detail: str,
                 extra_headers: dict[str, str] | None = None) -> None:
        title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        self._send(status, {"type": "about:blank", "title": title, "status": status,
                            "code": code, "detail": detail}, PROBLEM, extra_headers)

    # -- routes -------------------------------------------------------------------------------

    def _route(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        api = self.server.api
        session = api.session
        handler = _ROUTES.get((method, path))
        if handler is not None:
            return handler(api, body)
        if (match := _LINE.match(path)) and method == "DELETE":
            session.void_line(int(match.group(1)))
            return 200, view_json(session.view())
        if (match := _COUPON.match(path)) and method == "DELETE":
            session.remove_coupon(match.group(1))
            return 200, view_json(session.view())
        if path in _ROUTE_PATHS or _LINE.match(path) or _COUPON.match(path):
            raise _HttpError(405, "method_not_allowed", f"{method} is not allowed on {path}")
        raise NotFound(f"no endpoint {path}", code="no_endpoint")


def _json_body(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _HttpError(400, "bad_json", "the body is not JSON") from None
    if not isinstance(data, dict):
        raise _HttpError(422, "invalid_input", "the body must be a JSON object")
    return data


class _HttpError(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}")


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name}: a non-empty string")
    return value.strip()


def _member(session: TillSession, body: dict[str, Any]) -> tuple[int, Any]:
    _only(body, {"card_number", "phone", "region"})
    card, phone = _text(body, "card_number"), _text(body, "phone")
    if bool(card) == bool(phone):
        raise InvalidInput("send card_number or phone (one of them)")
    if card is not None:
        if looks_like_payment_card(card):
            raise InvalidInput(PAYMENT_CARD_MESSAGE, code="payment_card")
        session.identify_card(card, via="typed")
    else:
        session.identify_phone(str(phone), _text(body, "region"))
    return 200, view_json(session.view())


def _line(session: TillSession, body: dict[str, Any]) -> tuple[int, Any]:
    _only(body, {"sku", "barcode", "quantity", "unit_price_minor"})
    session.add_line(sku=_text(body, "sku"), barcode=_text(body, "barcode"),
                     quantity=body.get("quantity", 1),
                     unit_price_minor=body.get("unit_price_minor"))
    return 201, view_json(session.view())


def _coupon(session: TillSession, body: dict[str, Any]) -> tuple[int, Any]:
    _only(body, {"code", "payload"})
    session.add_coupon(code=_text(body, "code"), payload=_text(body, "payload"))
    return 201, view_json(session.view())


def _quote(session: TillSession) -> tuple[int, Any]:
    session.quote()
    return 200, view_json(session.view())


def _commit(session: TillSession, body: dict[str, Any]) -> tuple[int, Any]:
    _only(body, {"redeem_points"})
    sale = session.commit(redeem_points=body.get("redeem_points", 0))
    return 201, {"sale": sale_json(sale), "session": view_json(session.view())}


def _cancel(session: TillSession) -> tuple[int, Any]:
    session.cancel()
    return 200, view_json(session.view())


# Built once, not per request.  Each entry: (api, body) -> (status, payload).
_ROUTES: dict[tuple[str, str], Callable[[LocalApi, dict[str, Any]], tuple[int, Any]]] = {
    ("GET", "/session"): lambda api, _body: (200, view_json(api.session.view())),
    ("GET", "/status"): lambda api, _body: (200, api.status()),
    ("POST", "/session/member"): lambda api, body: _member(api.session, body),
    ("POST", "/session/lines"): lambda api, body: _line(api.session, body),
    ("POST", "/session/coupons"): lambda api, body: _coupon(api.session, body),
    ("POST", "/session/quote"): lambda api, _body: _quote(api.session),
    ("POST", "/session/commit"): lambda api, body: _commit(api.session, body),
    ("POST", "/session/cancel"): lambda api, _body: _cancel(api.session),
}
_ROUTE_PATHS = frozenset(path for _, path in _ROUTES)
