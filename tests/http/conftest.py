from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from loyalty.config import Settings


@pytest.fixture
def served(settings: Settings) -> Iterator[str]:
    """The app as production runs it (not in testing mode: errors are answered and logged,
    not raised into the test) behind a real HTTP server on a free port; yields its base URL.

    werkzeug's threaded server in this process: real sockets, headers and bodies as a client
    sends them, and the test's own database (SQLite file or PostgreSQL) with no second
    process to configure."""
    from loyalty.app import create_app

    app = create_app(dataclasses.replace(settings, testing=False))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        app.extensions["loyalty.db"].engine.dispose()
