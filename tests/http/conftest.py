from __future__ import annotations

from collections.abc import Iterator

import pytest

from loyalty.config import Settings
from tests.services import served_app


@pytest.fixture
def served(settings: Settings) -> Iterator[str]:
    """The app as production runs it (not in testing mode: errors are answered and logged,
    not raised into the test) behind a real HTTP server on a free port; yields its base URL.

    werkzeug's threaded server in this process: real sockets, headers and bodies as a client
    sends them, and the test's own database (SQLite file or PostgreSQL) with no second
    process to configure."""
    with served_app(settings) as url:
        yield url
