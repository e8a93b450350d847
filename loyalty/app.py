"""The composition root: ``create_app`` binds settings, database, API, tasks and pages.

This is the only module of ``loyalty/`` that imports ``web/``; nothing imports it back except
the entry points (CLI, WSGI, worker).
"""

from __future__ import annotations

import importlib
import logging

from flask import Flask, request

from loyalty.audit.reads import init_read_audit
from loyalty.auth.principal import enforce_policy
from loyalty.config import Settings
from loyalty.extensions import Database, api
from loyalty.health import api as health_api
from loyalty.http import init_http
from loyalty.limits import init_limits
from loyalty.logging_setup import configure_logging

API_PREFIX = "/api/v1"

# One flask-smorest blueprint per slice, each in ``loyalty/<slice>/api.py`` as ``blp``.
API_SLICES = (
    "cards", "members", "ledger", "checkout", "coupons", "catalog", "stores", "staff",
    "rules", "tiers", "insight",
)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    app = Flask("loyalty", instance_path=str(settings.instance_path.resolve()))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        TESTING=settings.testing,
        API_TITLE="Loyalty back office",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
    )
    app.extensions["loyalty.settings"] = settings
    Database().init_app(
        app, settings.resolved_database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )
    _init_api(app)
    init_http(app)  # after the API: our problem+json handlers replace flask-smorest's
    init_read_audit(app)  # after init_http, so its events are in the request's commit
    _init_tasks(app, settings)
    _init_web(app)
    init_limits(app, settings)  # last: it wraps the views the API and the pages registered
    return app


def _init_api(app: Flask) -> None:
    api.init_app(app)
    for name in API_SLICES:
        module = importlib.import_module(f"loyalty.{name}.api")
        api.register_blueprint(module.blp, url_prefix=f"{API_PREFIX}{module.URL_PREFIX}")
    # Outside /api/v1: probes need no token (enforce_policy guards the API prefix only).
    api.register_blueprint(health_api.blp, url_prefix=health_api.URL_PREFIX)

    @app.before_request
    def _authorise_api() -> None:
        if request.path.startswith(API_PREFIX):
            enforce_policy()


def _init_tasks(app: Flask, settings: Settings) -> None:
    from loyalty.worker import init_celery

    init_celery(app, settings)


def _init_web(app: Flask) -> None:
    import web

    web.init_app(app)


logging.getLogger(__name__).addHandler(logging.NullHandler())
