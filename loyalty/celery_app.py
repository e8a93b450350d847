"""Entry point for Celery processes: ``celery -A loyalty.celery_app:celery worker`` (or ``beat``).

Builds the app from ``LOYALTY_*`` settings when imported, so only the worker and beat import it;
everything else gets its Celery app from ``create_app`` (``app.extensions["celery"]``).
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from loyalty.app import create_app
from loyalty.extensions import database

flask_app = create_app()
celery: Celery = flask_app.extensions["celery"]


@worker_process_init.connect
def _fresh_connections(**_kwargs: Any) -> None:
    # A forked pool process must not share the parent's database connections.
    database(flask_app).engine.dispose(close=False)
