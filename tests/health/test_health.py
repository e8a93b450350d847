"""``/healthz/live`` and ``/healthz/ready``: no token, the database and (when set) Redis."""

from __future__ import annotations

import dataclasses
import socket

import pytest

from loyalty.app import create_app
from tests.services import require_redis


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def app_with(settings):  # type: ignore[no-untyped-def]
    """An app built from the test settings with some fields changed."""
    made = []

    def build(**changes):  # type: ignore[no-untyped-def]
        app = create_app(dataclasses.replace(settings, **changes))
        made.append(app)
        return app.test_client()

    yield build
    for app in made:
        app.extensions["loyalty.db"].engine.dispose()


def test_live_answers_without_a_token_or_a_database(app_with):
    client = app_with(database_url=f"postgresql+psycopg://nobody@127.0.0.1:{closed_port()}/x")
    answer = client.get("/healthz/live")
    assert answer.status_code == 200 and answer.json["status"] == "alive"


def test_ready_checks_the_database(client):
    answer = client.get("/healthz/ready")
    assert answer.status_code == 200, answer.json
    assert answer.json == {"status": "ready",
                           "checks": {"database": "ok", "redis": "not configured"}}


def test_ready_pings_redis_when_configured(app_with):
    answer = app_with(redis_url=require_redis()).get("/healthz/ready")
    assert answer.status_code == 200, answer.json
    assert answer.json["checks"] == {"database": "ok", "redis": "ok"}


def test_not_ready_when_redis_is_on_a_closed_port(app_with):
    client = app_with(redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    answer = client.get("/healthz/ready")
    assert answer.status_code == 503
    assert answer.mimetype == "application/problem+json"
    assert answer.json["code"] == "not_ready"
    assert answer.json["checks"] == {"database": "ok", "redis": "failed: ConnectionError"}


def test_not_ready_when_the_database_is_unreachable(app_with, caplog):
    secret = "hunter2-in-the-url"
    client = app_with(
        database_url=f"postgresql+psycopg://loyalty:{secret}@127.0.0.1:{closed_port()}/x")
    answer = client.get("/healthz/ready")
    assert answer.status_code == 503
    assert answer.json["checks"]["database"] == "failed: OperationalError"
    assert "database" in answer.json["detail"]
    assert secret not in answer.get_data(as_text=True) and secret not in caplog.text


def test_the_probes_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"/healthz/live", "/healthz/ready"} <= set(paths)
    assert "503" in paths["/healthz/ready"]["get"]["responses"]
