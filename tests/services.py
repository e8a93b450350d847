"""Reaching the machine's real PostgreSQL and Redis from tests.

Outside CI a test that needs an absent service is skipped with the reason; under CI
(``CI=true``) it fails, so a stopped service can never turn a red run green.
"""

from __future__ import annotations

import os

import pytest

PG_ADMIN_URL = os.environ.get(
    "LOYALTY_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("LOYALTY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def service_missing(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error.__class__.__name__}: {error})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; under CI this is a failure", pytrace=False)
    pytest.skip(message)


def require_redis() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        service_missing("Redis at " + REDIS_URL, exc)
    return REDIS_URL
