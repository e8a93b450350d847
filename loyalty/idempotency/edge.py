"""The ``@idempotent`` view decorator: claim, run the view, store the response, commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, current_app, request

from loyalty.auth.principal import current_principal
from loyalty.errors import IdempotencyKeyMissing
from loyalty.extensions import database
from loyalty.idempotency.services import (
    Claimed,
    check_key,
    claim_key,
    complete_key,
    fingerprint,
    release_key,
)

HEADER = "Idempotency-Key"


def idempotent(view: Callable[..., Any]) -> Callable[..., Response]:
    """Place directly under ``@blp.route`` so it sees the final response."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        raw_key = request.headers.get(HEADER)
        if raw_key is None:
            raise IdempotencyKeyMissing()
        db = database(current_app)
        # End the request's read transaction (the token lookup) before claiming: on SQLite a
        # second connection could not write while this one holds the lock.
        db.session.rollback()
        settings = current_app.extensions["loyalty.settings"]
        outcome = claim_key(
            db.session_factory,
            current_principal().actor,
            check_key(raw_key),
            fingerprint(request.method, request.path, request.get_data()),
            dt.timedelta(seconds=settings.idempotency_stale_seconds),
        )
        if not isinstance(outcome, Claimed):
            return _replay(outcome.status, outcome.body)
        return _run_claimed(view, outcome, db, args, kwargs)

    return wrapper


def _run_claimed(view, claim: Claimed, db, args, kwargs) -> Response:  # type: ignore[no-untyped-def]
    try:
        response = current_app.make_response(view(*args, **kwargs))
        if response.status_code < 400:
            complete_key(db.session, claim, response.status_code, response.get_data(as_text=True))
            db.session.commit()
        else:
            db.session.rollback()
            release_key(db.session_factory, claim)
        return response
    except BaseException:
        db.session.rollback()
        release_key(db.session_factory, claim)
        raise


def _replay(status: int, body: str) -> Response:
    response = Response(body, status=status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response
