"""The ``@idempotent`` view decorator: claim, run the view, store the response, commit.

:func:`run_idempotent` is the same machinery for one call at a time, so that a batch of sales
(``POST /api/v1/checkouts/batch``) gives each sale exactly the treatment of its own request.
"""

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
    end_read_transaction,
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
        print_ = fingerprint(request.method, request.path, request.get_data())
        return run_idempotent(raw_key, print_, lambda: view(*args, **kwargs))

    return wrapper


def run_idempotent(raw_key: str, print_: str, produce: Callable[[], Any]) -> Response:
    """Answer ``produce()`` once for the caller's ``raw_key``; commit its effect with it.

    A completed key with the same fingerprint replays the stored response and writes nothing;
    a different fingerprint raises IdempotencyKeyReused, a claim still running RequestInFlight.
    A success (< 400) is committed together with its stored response; anything else, or an
    exception, rolls the request session back and releases the key so it may be retried.
    """
    db = database(current_app)
    # End the request's read transaction (the token lookup) before claiming: on SQLite a
    # second connection could not write while this one holds the lock.
    end_read_transaction(db.session)
    settings = current_app.extensions["loyalty.settings"]
    outcome = claim_key(
        db.session_factory,
        current_principal().actor,
        check_key(raw_key),
        print_,
        dt.timedelta(seconds=settings.idempotency_stale_seconds),
    )
    if not isinstance(outcome, Claimed):
        return _replay(outcome.status, outcome.body)
    return _run_claimed(produce, outcome, db)


def _run_claimed(produce: Callable[[], Any], claim: Claimed, db) -> Response:  # type: ignore[no-untyped-def]
    try:
        response = current_app.make_response(produce())
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
