"""HTTP client for the back office's ``/api/v1``, with bounded timeouts and two kinds of failure.

Every call ends in one of three ways:

- an answer (a ``dict`` or ``list`` decoded from JSON);
- :class:`Refused`: the back office understood the request and said no (a 4xx with a
  problem+json body): sending it again will not help;
- :class:`Offline`: no usable answer (refused connection, timeout, dropped connection, 5xx, 429,
  a key still in flight): sending it again later may help.

Invariants:

- A call never takes much longer than ``timeout`` (2 s by default): connecting, sending and
  reading share one deadline, and every blocking socket call gets what is left of it, so a
  server trickling its answer a byte at a time cannot stretch a call either.
- A card number never reaches a log line or an exception message: the path of ``identify`` is
  logged as ``/api/v1/cards/{number}``, and a number that looks like a payment card is refused
  here, before anything is sent.
- Every request is safe to send twice (reads, the quote, and commits under an idempotency key),
  so a keep-alive connection the server had already closed is retried once on a fresh one.

stdlib ``http.client`` is enough: one keep-alive connection per thread, no pool to tune, and no
dependency for the till to install.
"""

from __future__ import annotations

import http.client
import io
import json
import logging
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

from loyalty.cards.numbers import looks_like_payment_card

log = logging.getLogger(__name__)

API = "/api/v1"
DEFAULT_TIMEOUT = 2.0
BATCH_LIMIT = 100  # items per POST /checkouts/batch, as the back office accepts
CATALOG_PAGE_SIZE = 100
# A batch is background work, and the back office takes tens of ms a sale: it gets the timeout
# plus this much per sale, so a full batch is not cut off (and redone) at the 2 s of a till call.
BATCH_SECONDS_PER_SALE = 0.2
# 4xx answers that mean "not now" rather than "never": the key is still being worked on by a
# request the back office has not finished (or a worker that died; it is taken over later).
TRANSIENT_CODES = frozenset({"request_in_flight"})

# A connection the server closed while idle fails before any answer arrives; safe to retry.
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
          http.client.CannotSendRequest)


class BackOfficeError(Exception):
    """Any failure to get a usable answer from the back office."""


class Offline(BackOfficeError):
    """No usable answer: try again later.  ``status`` is the HTTP status if one came back."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class Refused(BackOfficeError):
    """The back office said no (a 4xx).  ``code`` is the problem's stable machine code."""

    def __init__(self, status: int, code: str, problem: dict[str, Any]) -> None:
        detail = problem.get("detail") or problem.get("title") or ""
        super().__init__(f"{status} {code}: {detail}" if detail else f"{status} {code}")
        self.status = status
        self.code = code
        self.problem = problem


class BackOffice:
    """The back office as the till sees it.  Thread-safe: each thread has its own connection."""

    def __init__(self, base_url: str, token: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the back office URL must be http(s)://host[:port], not {base_url!r}")
        if timeout <= 0:
            raise ValueError("the timeout must be positive")
        self.base_url = base_url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._token = token
        self.timeout = timeout
        self._local = threading.local()

    def __repr__(self) -> str:  # never the token
        return f"BackOffice({self.base_url!r}, timeout={self.timeout})"

    # -- the API ------------------------------------------------------------------------------

    def identify(self, card_number: str) -> dict:
        """``GET /cards/<n>``: member, tier, balance, redeemable points, coupons."""
        if looks_like_payment_card(card_number):
            raise Refused(422, "payment_card", {"code": "payment_card",
                                                "title": "Payment card: not a loyalty card"})
        number = urllib.parse.quote(card_number, safe="")
        return self._call("GET", f"{API}/cards/{number}", shown=f"{API}/cards/{{number}}")

    def find_members(self, phone: str, region: str | None = None) -> list[dict]:
        """``GET /members?phone=``: every member with that phone (at most one)."""
        query = {"phone": phone, **({"region": region} if region else {})}
        return self._call("GET", f"{API}/members?{urllib.parse.urlencode(query)}",
                          shown=f"{API}/members?phone={{phone}}")

    def find_member(self, phone: str, region: str | None = None) -> dict:
        """The member with that phone; :class:`Refused` 404 ``unknown_member`` when none."""
        found = self.find_members(phone, region)
        if not found:
            raise Refused(404, "unknown_member", {"code": "unknown_member",
                                                  "title": "No member has this phone number"})
        return found[0]

    def quote(self, body: dict) -> dict:
        """``POST /checkouts/quote``: price a basket; no side effects."""
        return self._call("POST", f"{API}/checkouts/quote", body)

    def commit(self, body: dict, idempotency_key: str) -> dict:
        """``POST /checkouts`` under ``Idempotency-Key``; the same key always gets one sale."""
        return self._call("POST", f"{API}/checkouts", body,
                          headers={"Idempotency-Key": idempotency_key})

    def commit_batch(self, items: list[tuple[str, dict]]) -> list[dict]:
        """``POST /checkouts/batch``: up to 100 ``(key, body)``; results in order.

        Each result is ``{"idempotency_key", "status", "body"}``: the answer that item would have
        had from :meth:`commit`.  Raises :class:`Refused` 404/405 when the back office has no
        batch endpoint (the caller then commits one by one).  The deadline is ``timeout`` plus
        ``BATCH_SECONDS_PER_SALE`` per item: a batch runs in the background, not at a till.
        """
        if not 1 <= len(items) <= BATCH_LIMIT:
            raise ValueError(f"a batch holds 1 to {BATCH_LIMIT} sales, not {len(items)}")
        answer = self._call("POST", f"{API}/checkouts/batch", {
            "checkouts": [{"idempotency_key": key, "body": body} for key, body in items]},
            timeout=self.timeout + BATCH_SECONDS_PER_SALE * len(items))
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list) or len(results) != len(items):
            raise Offline("the batch answer does not match the batch sent")
        return results

    def products(self, updated_since: str | None = None,
                 page_size: int = CATALOG_PAGE_SIZE) -> Iterator[dict]:
        """Every product changed at or after ``updated_since`` (ISO 8601), oldest change first.

        Pages through ``GET /catalog/products``; each page is one request with its own timeout.
        """
        page = 1
        while True:
            query: dict[str, Any] = {"page": page, "page_size": page_size}
            if updated_since:
                query["updated_since"] = updated_since
            rows, headers = self._request("GET", f"{API}/catalog/products?"
                                          f"{urllib.parse.urlencode(query)}")
            if not isinstance(rows, list):
                raise Offline("the catalog answer is not a list of products")
            yield from rows
            pages = _total_pages(headers.get("X-Pagination"))
            if not rows or len(rows) < page_size or (pages is not None and page >= pages):
                return
            page += 1

    def ping(self) -> None:
        """The lightest call a till is let in for (one catalog row): proves the back office
        answers and still accepts the till's token.  Raises as every call does."""
        self._call("GET", f"{API}/catalog/products?page=1&page_size=1")

    def public_key_info(self) -> dict:
        """``GET /coupons/public-key``: algorithm, key_id, pem, raw_base64."""
        return self._call("GET", f"{API}/coupons/public-key")

    def public_key(self) -> str:
        """The programme's Ed25519 public key (PEM), to verify coupon QR payloads offline."""
        return str(self.public_key_info()["pem"])

    def close(self) -> None:
        """Close this thread's connection (other threads' close when they are collected)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- plumbing -----------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = None,
              headers: dict[str, str] | None = None, shown: str | None = None,
              timeout: float | None = None) -> Any:
        data, _headers = self._request(method, path, body, headers, shown, timeout)
        return data

    def _request(self, method: str, path: str, body: Any = None,
                 headers: dict[str, str] | None = None, shown: str | None = None,
                 timeout: float | None = None) -> tuple[Any, http.client.HTTPMessage]:
        shown = shown or path.split("?")[0]
        deadline = time.monotonic() + (timeout or self.timeout)
        payload = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        send_headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json",
                        **({"Content-Type": "application/json"} if payload is not None else {}),
                        **(headers or {})}
        started = time.monotonic()
        try:
            status, reply, reply_headers = self._exchange(method, self._prefix + path, payload,
                                                          send_headers, deadline)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            log.info("back office unreachable: %s %s (%s)", method, shown, type(exc).__name__)
            raise Offline(f"{method} {shown}: {_describe(exc)}") from None
        log.debug("back office answered %s %s: %d in %.1f ms", method, shown, status,
                  (time.monotonic() - started) * 1000)
        return _interpret(f"{method} {shown}", status, reply), reply_headers

    def _exchange(self, method: str, path: str, payload: bytes | None, headers: dict[str, str],
                  deadline: float) -> tuple[int, bytes, http.client.HTTPMessage]:
        conn = getattr(self._local, "conn", None)
        reused = conn is not None
        if conn is None:
            conn = self._connect(deadline)
        try:
            return _send(conn, method, path, payload, headers, deadline)
        except _STALE:
            if not reused:
                raise
            # The server closed our idle keep-alive connection: one fresh try, same deadline.
            self.close()
            return _send(self._connect(deadline), method, path, payload, headers, deadline)

    def _connect(self, deadline: float) -> http.client.HTTPConnection:
        remaining = _remaining(deadline)
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = cls(self._host, self._port, timeout=remaining)
        conn.connect()
        if conn.sock is not None:
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.sock = _DeadlineSocket(conn.sock)  # type: ignore[assignment]
        self._local.conn = conn
        return conn


def _send(conn: http.client.HTTPConnection, method: str, path: str, payload: bytes | None,
          headers: dict[str, str], deadline: float) -> tuple[int, bytes, http.client.HTTPMessage]:
    """One request/answer on ``conn`` within ``deadline`` (see :class:`_DeadlineSocket`)."""
    if isinstance(conn.sock, _DeadlineSocket):
        conn.sock.deadline = deadline
    conn.request(method, path, body=payload, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.will_close:
        conn.close()
    return response.status, data, response.headers


class _DeadlineSocket:
    """A connected socket whose every blocking call may take only what is left until
    ``deadline`` (``time.monotonic()``); past it, ``TimeoutError``.

    http.client sets one timeout per socket call, so a server sending a byte every second would
    keep a call alive for minutes; this bounds the whole exchange instead.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.deadline = time.monotonic()
        # As socket.socket does: http.client closes the connection while the answer's file
        # is still being read, so the socket really closes when the last file is done.
        self._files = 0
        self._closed = False

    def _arm(self) -> None:
        self._sock.settimeout(_remaining(self.deadline))

    def sendall(self, data: bytes) -> None:
        self._arm()
        self._sock.sendall(data)

    def send(self, data: bytes) -> int:
        self._arm()
        return self._sock.send(data)

    def recv_into(self, buffer: Any, nbytes: int = 0) -> int:
        self._arm()
        return self._sock.recv_into(buffer, nbytes)

    def recv(self, size: int) -> bytes:
        self._arm()
        return self._sock.recv(size)

    def makefile(self, mode: str = "rb", buffering: int | None = None) -> io.BufferedReader:
        if mode != "rb":
            raise ValueError("only for reading answers")
        self._files += 1
        return io.BufferedReader(socket.SocketIO(self, "rb"))  # type: ignore[arg-type]

    def _decref_socketios(self) -> None:
        self._files -= 1
        if self._closed and self._files <= 0:
            self._sock.close()

    def close(self) -> None:
        self._closed = True
        if self._files <= 0:
            self._sock.close()

    def __getattr__(self, name: str) -> Any:  # close, fileno, setsockopt, ...
        return getattr(self._sock, name)


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the back office did not answer in time")
    return left


def _interpret(what: str, status: int, reply: bytes) -> Any:
    """Map an HTTP answer to data, :class:`Refused` or :class:`Offline` (see module doc)."""
    try:
        data = json.loads(reply) if reply else None
    except ValueError:
        data = None
    return answer(status, data, what)


def answer(status: int, data: Any, what: str = "the back office") -> Any:
    """The data of a 2xx answer, else :class:`Refused` (a 4xx) or :class:`Offline`.

    Public so the outbox can judge each item of a batch answer by the same rules as a single
    commit.  ``what`` names the request in messages; it must not hold a card number.
    """
    if status == 429 or status >= 500:
        raise Offline(f"{what}: the back office answered {status}", status)
    if 200 <= status < 300:
        if data is None:
            raise Offline(f"{what}: {status} without a JSON body", status)
        return data
    if 400 <= status < 500:
        problem = data if isinstance(data, dict) else {}
        code = str(problem.get("code") or f"http_{status}")
        if code in TRANSIENT_CODES:
            raise Offline(f"{what}: {status} {code}", status)
        raise Refused(status, code, problem)
    raise Offline(f"{what}: unexpected status {status}", status)


def _total_pages(header: str | None) -> int | None:
    try:
        return int(json.loads(header)["total_pages"]) if header else None
    except (ValueError, KeyError, TypeError):
        return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError):
        return "connection dropped"
    return type(exc).__name__
