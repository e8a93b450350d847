"""Reaching the machine's real PostgreSQL and Redis from tests.

Outside CI a test that needs an absent service is skipped with the reason; under CI
(``CI=true``) it fails, so a stopped service can never turn a red run green.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server

from loyalty.config import Settings

PG_ADMIN_URL = os.environ.get(
    "LOYALTY_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Each checkout on a machine gives its own databases (`make test TEST_REDIS_URL=...`).
REDIS_URL = os.environ.get("LOYALTY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# The production-stack test runs a worker on the default queue and flushes this database.
STACK_REDIS_URL = os.environ.get("LOYALTY_TEST_STACK_REDIS_URL", "redis://127.0.0.1:6379/13")


def service_missing(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error.__class__.__name__}: {error})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; under CI this is a failure", pytrace=False)
    pytest.skip(message)


def require_redis(url: str = REDIS_URL) -> str:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        service_missing("Redis at " + url, exc)
    return url


@contextmanager
def empty_pg_database(server_url: str, name: str) -> Iterator[str]:
    """A new, empty PostgreSQL database ``name`` on the server of ``server_url``; yields its URL
    and drops it after.  A server that cannot be reached skips (or fails, under CI)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        admin.dispose()
        service_missing("PostgreSQL at " + server_url, exc)
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def served_app(settings: Settings) -> Iterator[str]:
    """The app as production runs it (not in testing mode: errors are answered and logged,
    not raised into the test) behind werkzeug's threaded server on a free port, on the test's
    own database; yields its base URL."""
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
