"""A real back office for the offline tests, and the stand-ins for a network that misbehaves.

``back_office``: the ``loyalty`` app (``create_app``) on a migrated SQLite copy in the test's tmp
dir (PostgreSQL when the suite runs with ``LOYALTY_TEST_DATABASE_URL``), served by werkzeug's
threaded server on a free port, seeded through the services as tests/factories.py does: one AED
store, a till with its token, members with points, products, a base earning rule.

``proxy``: a TCP proxy in front of it that forwards bytes both ways, records what the till sent,
and can drop a connection after the back office has answered but before the till hears it.

``silent_server``: a socket that accepts connections and never answers.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.baskets.models import Basket
from loyalty.idempotency.models import IdempotencyRecord
from loyalty.ledger.models import Posting, PostingKind
from loyalty.ledger.services import member_balance
from loyalty.ledger.verify import verify_ledger
from pos_agent.client import BackOffice
from tests.pos_agent.backoffice_server import (  # noqa: F401 (Proxy re-exported)
    Proxy,
    address,
    close_all,
    seed,
    serve_wsgi,
)
from tests.pos_agent.offline.sales import PRODUCTS, sale_body  # noqa: F401 (re-exported)

START_POINTS = 10_000
ROOT = Path(__file__).resolve().parents[3]


@dataclass
class BackOfficeServer:
    url: str
    token: str
    cards: list[str]
    member_ids: list[int]
    phones: list[str]
    app: object
    _session_factory: object = field(repr=False)
    # path -> status: answered with that status and a problem, as an older or stricter version
    hidden: dict[str, int] = field(default_factory=dict)


    def client(self, timeout: float = 2.0, url: str | None = None) -> BackOffice:
        return BackOffice(url or self.url, self.token, timeout=timeout)

    def session(self) -> Session:
        return self._session_factory()  # type: ignore[operator]

    def baskets_by_ref(self) -> collections.Counter[str]:
        """How many baskets the back office holds per external_ref (the tests' sale id)."""
        with self.session() as s:
            rows = s.execute(select(Basket.external_ref, func.count())
                             .group_by(Basket.external_ref)).all()
        return collections.Counter({ref: n for ref, n in rows})

    def basket_per_key(self, keys: list[str]) -> dict[str, tuple[int, str | None]]:
        """For each idempotency key: the basket its stored answer names, and that basket's
        external_ref (the tests' sale id).  Keys the back office never completed are absent."""
        with self.session() as s:
            records = s.scalars(select(IdempotencyRecord)
                                .where(IdempotencyRecord.key.in_(keys),
                                       IdempotencyRecord.completed_at.is_not(None))).all()
            found = {r.key: json.loads(r.response_body or "{}").get("basket_id")
                     for r in records}
            refs = dict(s.execute(select(Basket.id, Basket.external_ref)
                                  .where(Basket.id.in_(list(found.values())))).all())
        return {key: (basket, refs.get(basket)) for key, basket in found.items()}

    def earn_postings_per_basket(self) -> collections.Counter[int]:
        with self.session() as s:
            rows = s.execute(select(Posting.basket_id, func.count())
                             .where(Posting.kind == PostingKind.EARN)
                             .group_by(Posting.basket_id)).all()
        return collections.Counter({basket: n for basket, n in rows})

    def balance(self, member_id: int) -> int:
        with self.session() as s:
            return member_balance(s, member_id)

    def ledger_problems(self) -> list[str]:
        with self.session() as s:
            return [str(p) for p in verify_ledger(s)]


def _seed(db: Session, settings) -> tuple[str, list[str], list[int], list[str]]:  # type: ignore[no-untyped-def]
    phones = [f"+97150123456{n}" for n in range(3)]
    token, enrolled = seed(db, settings, PRODUCTS,
                           [(f"Member {n}", phone) for n, phone in enumerate(phones)],
                           START_POINTS)
    return (token, [card.number for _, card in enrolled], [member.id for member, _ in enrolled],
            phones)


@pytest.fixture
def back_office(app, db, settings) -> Iterator[BackOfficeServer]:  # type: ignore[no-untyped-def]
    token, cards, ids, phones = _seed(db, settings)
    hidden: dict[str, int] = {}

    def older_version(environ, start_response):  # type: ignore[no-untyped-def]
        """The real app, less the paths in ``hidden`` (a back office not yet upgraded)."""
        status = hidden.get(environ.get("PATH_INFO"))
        if status:
            code = {404: "not_found", 405: "method_not_allowed"}.get(status, "invalid_input")
            body = json.dumps({"code": code, "status": status, "title": code}).encode()
            start_response(f"{status} REFUSED", [("Content-Type", "application/problem+json"),
                                                 ("Content-Length", str(len(body)))])
            return [body]
        return app(environ, start_response)

    with serve_wsgi(older_version) as url:
        yield BackOfficeServer(url, token, cards, ids, phones, app,
                               app.extensions["loyalty.db"].session_factory, hidden)


@pytest.fixture
def proxy(back_office: BackOfficeServer) -> Iterator[Proxy]:
    p = Proxy(address(back_office.url))
    yield p
    p.close()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A URL whose server accepts connections, reads the request, and never answers."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    close_all(listener, held)


@pytest.fixture
def trickling_server() -> Iterator[str]:
    """A URL whose server answers a byte every 50 ms, for up to 5 s: each read is quick, the
    answer never ends."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=16)
    stop = threading.Event()

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                for _ in range(100):
                    if stop.wait(0.05):
                        return
                    conn.sendall(b"a")
            except OSError:
                return

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()


def _free_port() -> int:
    """A local port nobody listens on (bound, then let go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def closed_port() -> str:
    """A URL nobody listens on: connecting is refused at once."""
    return f"http://127.0.0.1:{_free_port()}"


class ServerProcess:
    """The back office under gunicorn in its own process group, on the same database as
    ``back_office``, so it can be killed with SIGKILL (master and worker) and started again on
    the same port.  A key left "in flight" by a killed worker is taken over after 1 s."""

    def __init__(self, settings, port: int) -> None:  # type: ignore[no-untyped-def]
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {**os.environ, "LOYALTY_DATABASE_URL": settings.resolved_database_url,
                    "LOYALTY_INSTANCE_PATH": str(settings.instance_path),
                    "LOYALTY_SECRET_KEY": settings.secret_key, "LOYALTY_TESTING": "true",
                    "LOYALTY_LOG_LEVEL": "WARNING", "LOYALTY_IDEMPOTENCY_STALE_SECONDS": "1"}
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        # A server still running would answer in the new one's place while the new one fails
        # to bind, and would outlive the test: refuse.
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("the back office is still running: kill it first")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "loyalty.wsgi:app", "--bind",
             f"127.0.0.1:{self.port}", "--workers", "1", "--log-level", "warning"],
            cwd=ROOT, env=self.env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("gunicorn exited during start-up")
                time.sleep(0.05)
        raise RuntimeError("gunicorn did not listen within 20 s")

    def kill(self) -> None:
        """SIGKILL the whole process group: no worker finishes what it was doing."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture
def server_process(back_office: BackOfficeServer, settings) -> Iterator[ServerProcess]:  # type: ignore[no-untyped-def]
    server = ServerProcess(settings, _free_port())
    yield server
    server.kill()
