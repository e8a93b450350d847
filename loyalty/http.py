"""The HTTP edge's shared plumbing: the request session, the transaction, problem+json.

Every error a client can cause leaves as ``application/problem+json`` (RFC 9457) with a stable
``code``; nothing a client sends produces a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from loyalty.errors import DomainError
from loyalty.extensions import database

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

# Stable codes for errors raised by the web layer rather than the domain.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
}


def db_session() -> Session:
    """The current request's session."""
    return database(current_app).session


def problem(
    status: int, code: str, title: str, detail: str | None = None, **extra: Any
) -> Response:
    body: dict[str, Any] = {
        "type": f"https://loyalty.example/problems/{code}",
        "title": title,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    resp = jsonify(body)
    resp.status_code = status
    resp.mimetype = PROBLEM_JSON
    return resp


def _domain_error(exc: DomainError) -> Response:
    return problem(exc.status, exc.code, exc.title, exc.detail, **exc.extra)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = _HTTP_CODES.get(status, "http_error")
    extra: dict[str, Any] = {}
    # flask-smorest/webargs put marshmallow's messages here: say which field is wrong.
    messages = getattr(exc, "data", {}).get("messages") if hasattr(exc, "data") else None
    if messages:
        extra["errors"] = messages
        if status == 422:
            code = "invalid_input"
    if status == 400 and "JSON" in (exc.description or ""):
        code = "malformed_json"
    return problem(status, code, exc.name, exc.description, **extra)


def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return problem(500, "internal_error", "Internal error", "The error has been logged.")


def commit_or_rollback(response: Response) -> Response:
    """The request owns the transaction: commit when the answer is a success."""
    session = _open_session()
    if session is None:
        return response
    if response.status_code < 400:
        try:
            session.commit()
        except DomainError as exc:
            session.rollback()
            return _domain_error(exc)
    else:
        session.rollback()
    return response


def _open_session() -> Session | None:
    from flask import g

    return g.get("db_session")


def init_http(app: Flask) -> None:
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    if not app.testing or not app.config.get("PROPAGATE_EXCEPTIONS"):
        app.register_error_handler(Exception, _unexpected)
    app.after_request(commit_or_rollback)
