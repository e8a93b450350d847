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
from loyalty.db import end_read_transaction
from loyalty.errors import IdempotencyKeyMissing
from loyalty.extensions import database
from loyalty.idempotency.services import (
    Claimed,
    check_key,
    claim_key,
    claim_new_key,
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
        print_ = fingerprint(request.method, request.path, request.get_data())
        return run_idempotent(raw_key, print_, lambda: view(*args, **kwargs))

    wrapper.idempotency_key_header = True  # type: ignore[attr-defined]  # loyalty.openapi
    return wrapper


def run_idempotent(raw_key: str, print_: str, produce: Callable[[], Any], *,
                   claim_with_effect: bool = False) -> Response:
    """Answer ``produce()`` once for the caller's ``raw_key``; commit its effect with it.

    A completed key with the same fingerprint replays the stored response and writes nothing;
    a different fingerprint raises IdempotencyKeyReused, a claim still running RequestInFlight.
    A success (< 400) is committed together with its stored response; anything else, or an
    exception, rolls the request session back and releases the key so it may be retried.

    ``claim_with_effect``: a new key is claimed in the effect's own transaction
    (:func:`~loyalty.idempotency.services.claim_new_key`), for a batch's items.
    """
    db = database(current_app)
    # End the request's read transaction (the token lookup) before claiming: on SQLite a
    # second connection could not write while this one holds the lock.
    end_read_transaction(db.session)
    scope, key = current_principal().actor, check_key(raw_key)
    if claim_with_effect:
        claim = claim_new_key(db.session, scope, key, print_)
        if claim is not None:
            return _run_claimed(produce, claim, db, claimed_apart=False)
        end_read_transaction(db.session)  # a key seen before: it wrote nothing
    settings = current_app.extensions["loyalty.settings"]
    outcome = claim_key(db.session_factory, scope, key, print_,
                        dt.timedelta(seconds=settings.idempotency_stale_seconds))
    if not isinstance(outcome, Claimed):
        return _replay(outcome.status, outcome.body)
    return _run_claimed(produce, outcome, db)


def _run_claimed(produce: Callable[[], Any], claim: Claimed, db, *,  # type: ignore[no-untyped-def]
                 claimed_apart: bool = True) -> Response:
    """``claimed_apart``: the claim was committed on its own, so a failure must release it;
    otherwise the rollback takes it away with the effect."""
    try:
        response = current_app.make_response(produce())
        if response.status_code < 400:
            complete_key(db.session, claim, response.status_code, response.get_data(as_text=True))
            db.session.commit()
        else:
            _forget(db, claim, claimed_apart)
        return response
    except BaseException:
        _forget(db, claim, claimed_apart)
        raise


def _forget(db, claim: Claimed, claimed_apart: bool) -> None:  # type: ignore[no-untyped-def]
    db.session.rollback()
    if claimed_apart:
        release_key(db.session_factory, claim)


def _replay(status: int, body: str) -> Response:
    response = Response(body, status=status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response
