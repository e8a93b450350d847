"""``/healthz/live`` and ``/healthz/ready``: unauthenticated, cheap, outside ``/api/v1``.

* live: the process answers; it touches nothing else, so a database outage never gets healthy
  web workers restarted.
* ready: the database answers ``SELECT 1`` and, when ``LOYALTY_REDIS_URL`` is set, Redis
  answers PING, each within about two seconds.  Otherwise 503 (problem+json, code
  ``not_ready``) naming the failed check, so a load balancer sends no traffic here.

The checks use their own connections (no pool to wait on): a pool exhausted by slow requests
must not make the probe hang past the balancer's timeout.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Flask, current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from loyalty.http import problem

URL_PREFIX = "/healthz"
TIMEOUT_SECONDS = 2
blp = Blueprint("health", __name__, description="Liveness and readiness probes (no token)")
log = logging.getLogger(__name__)


class HealthSchema(Schema):
    status = fields.String(metadata={"example": "ready"})
    checks = fields.Dict(keys=fields.String(), values=fields.String(),
                         metadata={"example": {"database": "ok", "redis": "ok"}})


@blp.route("/live", methods=["GET"])
@blp.response(200, HealthSchema)
def live():  # type: ignore[no-untyped-def]
    """The process answers.  No dependency is checked."""
    return {"status": "alive", "checks": {}}


@blp.route("/ready", methods=["GET"])
@blp.response(200, HealthSchema)
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")  # problem+json, with ``checks``
def ready():  # type: ignore[no-untyped-def]
    """The database answers and, when configured, Redis does: ready for traffic."""
    probes = _probes(current_app)
    checks = {"database": _check(probes.database)}
    checks["redis"] = _check(probes.redis) if probes.redis else "not configured"
    failed = [name for name, result in checks.items() if result.startswith("failed")]
    if failed:
        return problem(503, "not_ready", "Not ready", f"failed: {', '.join(failed)}",
                       checks=checks)
    return {"status": "ready", "checks": checks}


class _Probes:
    """One small engine (no pool) and one Redis client per app, made on the first probe."""

    def __init__(self, database_url: str, redis_url: str) -> None:
        connect_args: dict[str, Any] = (
            {"timeout": TIMEOUT_SECONDS} if database_url.startswith("sqlite") else
            {"connect_timeout": TIMEOUT_SECONDS,
             "options": f"-c statement_timeout={TIMEOUT_SECONDS * 1000}"})
        self.engine: Engine = create_engine(database_url, poolclass=NullPool,
                                            connect_args=connect_args)
        self.redis_client = (redis.Redis.from_url(
            redis_url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS,
            retry_on_timeout=False) if redis_url else None)

    def database(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    @property
    def redis(self):  # type: ignore[no-untyped-def]
        client = self.redis_client
        return client.ping if client is not None else None


def _probes(app: Flask) -> _Probes:
    if "loyalty.health" not in app.extensions:
        settings = app.extensions["loyalty.settings"]
        app.extensions["loyalty.health"] = _Probes(settings.resolved_database_url,
                                                   settings.redis_url)
    return app.extensions["loyalty.health"]


def _check(probe: Any) -> str:
    try:
        probe()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", never a 500
        # The class only: a driver's message may carry the URL (and its password).
        log.warning("readiness check failed: %s", type(exc).__name__)
        return f"failed: {type(exc).__name__}"
    return "ok"
