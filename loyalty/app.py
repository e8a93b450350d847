"""The composition root: ``create_app`` binds settings, database, API, tasks and pages.

This is the only module of ``loyalty/`` that imports ``web/``; nothing imports it back except
the entry points (CLI, WSGI, worker).
"""

from __future__ import annotations

import logging

from flask import Flask, request

from loyalty.audit.reads import init_read_audit
from loyalty.auth.principal import enforce_policy
from loyalty.campaigns import api as campaigns_api
from loyalty.campaigns import results_api as campaign_results_api
from loyalty.cards import api as cards_api
from loyalty.catalog import api as catalog_api
from loyalty.checkout import api as checkout_api
from loyalty.config import Settings
from loyalty.coupons import api as coupons_api
from loyalty.extensions import Database, api
from loyalty.health import api as health_api
from loyalty.http import init_http, require_json_body
from loyalty.insight import api as insight_api
from loyalty.ledger import api as ledger_api
from loyalty.limits import init_limits
from loyalty.logging_setup import configure_logging
from loyalty.members import api as members_api
from loyalty.messaging.views import init_messaging
from loyalty.openapi import api_settings, init_docs, spec_kwargs
from loyalty.rules import api as rules_api
from loyalty.schema_fields import URL_CONVERTERS
from loyalty.segments import api as segments_api
from loyalty.staff import api as staff_api
from loyalty.stores import api as stores_api
from loyalty.tiers import api as tiers_api

API_PREFIX = "/api/v1"

# One flask-smorest blueprint per slice, each in ``loyalty/<slice>/api.py`` as ``blp``;
# imported by name so that import-linter sees every edge of the composition root.
API_SLICES = (
    cards_api, members_api, ledger_api, checkout_api, coupons_api, catalog_api, stores_api,
    staff_api, rules_api, tiers_api, insight_api, segments_api, campaigns_api,
    campaign_results_api,
)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    app = Flask("loyalty", instance_path=str(settings.instance_path.resolve()))
    # Before any route: ids in paths fit the database's integers, text holds no NUL.
    app.url_map.converters.update(URL_CONVERTERS)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        TESTING=settings.testing,
        API_TITLE="Loyalty back office",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        **api_settings(API_PREFIX),
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
    init_messaging(app, settings)  # one-click unsubscribe page; checks its settings
    init_limits(app, settings)  # last: it wraps the views the API and the pages registered
    return app


def _init_api(app: Flask) -> None:
    api.init_app(app, spec_kwargs=spec_kwargs(app))
    init_docs(app, api, API_PREFIX)
    for module in API_SLICES:
        api.register_blueprint(module.blp, url_prefix=f"{API_PREFIX}{module.URL_PREFIX}")
    # Outside /api/v1: probes need no token (enforce_policy guards the API prefix only).
    api.register_blueprint(health_api.blp, url_prefix=health_api.URL_PREFIX)

    @app.before_request
    def _authorise_api() -> None:
        if request.path.startswith(API_PREFIX):
            enforce_policy()
            require_json_body()


def _init_tasks(app: Flask, settings: Settings) -> None:
    from loyalty.worker import init_celery

    init_celery(app, settings)


def _init_web(app: Flask) -> None:
    import web

    web.init_app(app)


logging.getLogger(__name__).addHandler(logging.NullHandler())
