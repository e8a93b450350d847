"""Pieces the till tests' back offices share (tests/pos_agent/offline and tests/pos_agent/till):
the seeding of a store, catalog, rule and members, a WSGI app served on a free local port, a
TCP proxy in front of it that records what the till
sent and can drop answers or go silent, and the closing of a TCP stand-in's sockets."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from loyalty.catalog.models import Category, Product
from loyalty.db import utcnow
from loyalty.ledger.models import PostingKind
from loyalty.ledger.services import PostingRequest, earn_points
from loyalty.rules.models import RuleKind
from loyalty.rules.services import add_earning_rule
from tests.factories import LONG_AGO, make_member, make_store, till_token


def seed(db: Session, settings, products: Iterable[tuple[str, str, int, str | None]],  # type: ignore[no-untyped-def]
         members: Iterable[tuple[str, str]], points: int) -> tuple[str, list]:
    """Through the services, as tests/factories.py does: one AED store with a till, a grocery
    category holding ``products`` (sku, name, price, barcode), a base rule of 1 point per AED,
    and ``members`` (name, phone) with ``points`` each.  Committed; returns the till's token and
    each member's ``(member, card)``."""
    store = make_store(db, "AED")
    grocery = Category(code="grocery", name="Grocery")
    db.add(grocery)
    db.flush()
    db.add_all([Product(sku=sku, name=name, category_id=grocery.id, price_minor=price,
                        currency="AED", barcode=barcode) for sku, name, price, barcode in products])
    add_earning_rule(db, "1 point per AED", RuleKind.BASE, valid_from=LONG_AGO)
    enrolled = []
    for name, phone in members:
        member, card = make_member(db, settings, name=name, phone=phone)
        earn_points(db, PostingRequest(PostingKind.ADJUST, member.id, points, utcnow(),
                                       reason="test"), 365)
        enrolled.append((member, card))
    token = till_token(db, store)
    db.commit()
    return token, enrolled


@contextmanager
def serve_wsgi(app, name: str = "back-office") -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Serve ``app`` with werkzeug's threaded server on 127.0.0.1; yields its URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def close_all(listener: socket.socket, sockets: Iterable[socket.socket]) -> None:
    """Stop accepting, then close every connection, whatever state each is in."""
    listener.close()
    for sock in sockets:
        try:
            sock.close()
        except OSError:
            pass


def address(url: str) -> tuple[str, int]:
    """``(host, port)`` of an ``http://host:port`` URL, as a socket wants it."""
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


class Proxy:
    """A TCP proxy to ``upstream`` that records what clients sent.

    ``drop_answers(n)``: the next ``n`` answers from upstream are swallowed and the client's
    connection is ended instead: the back office did the work, the till never heard.

    ``silent = True``: from then on, new connections are accepted and never answered (a back
    office hung mid-request, seen from the till); connections already open still forward.
    """

    def __init__(self, upstream: tuple[str, int],
                 on_request: Callable[[bytes], None] | None = None) -> None:
        self.upstream = upstream
        # called with each chunk the client sent, once forwarded; answers wait until it returns
        self.on_request = on_request
        self._answers = threading.Event()
        self._answers.set()
        self.sent = bytearray()
        self.silent = False
        self.dropped = 0
        self._drop = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def drop_answers(self, n: int) -> None:
        with self._lock:
            self._drop = n

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.silent:
                self._open.append(client)  # held open, never read, never answered
                continue
            try:
                upstream = socket.create_connection(self.upstream)
            except OSError:  # the back office is down: so is the connection
                client.close()
                continue
            self._open += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False),
                             daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        try:
            while data := src.recv(65536):
                if from_client:
                    with self._lock:
                        self.sent += data
                    self._forward_request(data, dst)
                    continue
                self._answers.wait(10)
                if self._take_drop():
                    _hang_up(dst)
                    src.close()
                    return
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _forward_request(self, data: bytes, dst: socket.socket) -> None:
        if self.on_request is None:
            dst.sendall(data)
            return
        self._answers.clear()
        try:
            dst.sendall(data)
            self.on_request(data)
        finally:
            self._answers.set()

    def _take_drop(self) -> bool:
        with self._lock:
            if self._drop <= 0:
                return False
            self._drop -= 1
            self.dropped += 1
            return True

    def close(self) -> None:
        close_all(self._listener, self._open)


def _hang_up(sock: socket.socket) -> None:
    """End the connection now (shutdown wakes the pump blocked reading it; close alone would
    not): the client sees it end before any answer."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
    except OSError:
        pass
