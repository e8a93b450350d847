"""A real back office for the till's end-to-end tests, and a recorder of what the till sent.

``create_app(Settings(...))`` on the test's migrated database (SQLite in tmp_path, or PostgreSQL
when the suite runs on it), seeded through the services as tests/factories.py does, served by
werkzeug's threaded server on a free port.  :class:`Recorder` wraps the WSGI app and keeps every
request line and body the till sent, so a test can search them for card data.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from loyalty.ledger.services import member_balance
from tests.pos_agent.backoffice_server import Proxy, address, seed, serve_wsgi

START_POINTS = 1_000
# (sku, name, price, barcode): EAN-13 (a German one, in a Visa-like range), UPC-A, EAN-8.
PRODUCTS = (("MILK", "Milk 1L", 650, "4006381333931"), ("RICE", "Rice 5kg", 3200, "036000291452"),
            ("BREAD", "Bread", 400, "96385074"))


class Recorder:
    """WSGI middleware: every request's method, path, query and body, as bytes."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.sent = bytearray()
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        import io

        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        line = f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO', '')}?" \
               f"{environ.get('QUERY_STRING', '')}\n".encode()
        with self._lock:
            self.sent += line + body + b"\n"
        return self.app(environ, start_response)


@dataclass
class RealBackOffice:
    url: str
    token: str
    card: str
    member_id: int
    app: object
    recorder: Recorder
    _session_factory: object = field(repr=False)

    def balance(self) -> int:
        with self._session_factory() as s:  # type: ignore[operator]
            return member_balance(s, self.member_id)


@pytest.fixture
def real_back_office(app, db, settings) -> Iterator[RealBackOffice]:  # type: ignore[no-untyped-def]
    token, [(member, card)] = seed(db, settings, PRODUCTS, [("Layla Haddad", "+971501234567")],
                                   START_POINTS)
    recorder = Recorder(app)
    with serve_wsgi(recorder) as url:
        yield RealBackOffice(url, token, card.number, member.id, app, recorder,
                             app.extensions["loyalty.db"].session_factory)


class SwitchableProxy(Proxy):
    """The shared proxy to a back office by its URL; set ``silent`` to make it go quiet."""

    def __init__(self, upstream_url: str) -> None:
        super().__init__(address(upstream_url))
