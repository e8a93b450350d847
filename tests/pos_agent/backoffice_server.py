"""Pieces the till tests' back offices share: a WSGI app served on a free local port, and the
closing of a TCP stand-in's sockets.  (tests/pos_agent/offline uses them; the till side's
backoffice.py still has its own copies.)"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from werkzeug.serving import make_server


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
