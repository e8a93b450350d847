"""The HTTP edge's shared plumbing: the request session, the transaction, problem+json.

Every error a client can cause leaves as ``application/problem+json`` (RFC 9457) with a stable
``code``; nothing a client sends produces a 500.  A browser (one that prefers ``text/html``)
gets the same answer as a small translated page instead.

A constraint the database enforces (unique, foreign key, not null, check) is mapped to a
problem here, once: 409 ``already_exists`` for a unique key (also the loser of two requests
racing to create the same thing), 422 ``unknown_reference`` for an id naming no row.  What the
log keeps of an unexpected error is its type and where it happened, never its message: a
database error's message carries the values bound to the statement, which may be what a person
typed (the engine also hides bound parameters: ``hide_parameters``).
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException, UnsupportedMediaType

from loyalty.db import Base
from loyalty.errors import (
    AlreadyExists,
    DomainError,
    InvalidInput,
    UnknownReference,
    UnstorableValue,
)
from loyalty.extensions import database
from loyalty.openapi import PROBLEM_JSON

log = logging.getLogger(__name__)

WWW_AUTHENTICATE = 'Bearer realm="loyalty"'
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

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


def _answer(status: int, code: str, title: str, detail: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> Response:
    """problem+json, or for a browser asking for HTML a page saying the same."""
    if _prefers_html():
        resp = Response(render_template("errors/problem.html", status=status, code=code),
                        status=status, mimetype="text/html")
    else:
        resp = problem(status, code, title, detail, **extra)
    if status == 401:
        resp.headers["WWW-Authenticate"] = WWW_AUTHENTICATE  # RFC 9110: a 401 names its scheme
    resp.headers.extend(headers or {})
    return resp


def _prefers_html() -> bool:
    """A browser navigating (a GET with ``Accept: text/html,...,*/*;q=0.8``), not an API
    client (JSON, ``*/*`` or no Accept at all: those keep problem+json).  Writes are API calls
    whatever they accept: a batch answers each item with the problem as JSON."""
    if request.method not in ("GET", "HEAD"):
        return False
    offered = (PROBLEM_JSON, "application/json", "text/html")
    return request.accept_mimetypes.best_match(offered) == "text/html"


def _domain_error(exc: DomainError) -> Response:
    return _answer(exc.status, exc.code, exc.title, exc.detail, **exc.extra)


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
    if status == 400 and "JSON" in f"{exc.description} {messages or ''}":
        code = "malformed_json"  # webargs says so in its messages: {"json": ["Invalid JSON..."]}
    # Keep what the exception says in headers (405's Allow, 429's Retry-After), not its type.
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    return _answer(status, code, exc.name, exc.description, headers, **extra)


def _database_error(exc: IntegrityError | DataError) -> Response:
    """A constraint or a value the database refused: the client's problem, never a 500."""
    problem_ = database_problem(exc)
    log.info("database refused %s %s: %s", request.method, request.path, problem_.code)
    return _domain_error(problem_)


_SQLITE_COLUMNS = re.compile(r"constraint failed: ([\w., ]+)")
_WRITTEN_TABLE = re.compile(r"\s*(?:INSERT INTO|UPDATE)\s+(\S+)", re.IGNORECASE)


def database_problem(exc: IntegrityError | DataError) -> DomainError:
    """The problem for an IntegrityError or DataError, naming the fields but never the values
    (the database's own message quotes them)."""
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    message = str(exc.orig)
    fields = _constraint_fields(exc, message)
    named = ", ".join(fields) or "a field"
    if isinstance(exc, IntegrityError):
        if sqlstate == "23505" or message.startswith("UNIQUE constraint failed"):
            return AlreadyExists(f"a record with this {named} exists already", fields=fields)
        if sqlstate == "23503" or message.startswith("FOREIGN KEY constraint failed"):
            return UnknownReference(f"{named} names a record that does not exist",
                                    fields=fields)
        return InvalidInput(f"{named} is missing or not allowed", fields=fields)
    return UnstorableValue(f"{named} is outside what can be stored")


def _constraint_fields(exc: DBAPIError, message: str) -> list[str]:
    """The columns of the constraint that refused the row, from PostgreSQL's constraint name
    (our naming convention) or SQLite's message (``UNIQUE constraint failed: store.code``)."""
    name = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
    if name:
        for table in Base.metadata.tables.values():
            for constraint in (*table.constraints, *table.indexes):
                if constraint.name == name:
                    return [column.name for column in constraint.columns]
        return []
    found = _SQLITE_COLUMNS.search(message)
    if found is not None:
        return [part.strip().rpartition(".")[2] for part in found.group(1).split(",")]
    if message.startswith("FOREIGN KEY"):  # SQLite names no column: the table's references
        written = _WRITTEN_TABLE.match(exc.statement or "")
        table = Base.metadata.tables.get(written.group(1).strip('"')) if written else None
        if table is not None:
            return sorted(key.parent.name for key in table.foreign_keys)
    return []


def _recursion(exc: RecursionError) -> Response:
    """A JSON body nested deeper than the parser recurses (``[[[[...]]]]``, well within the
    size limit) is malformed input, not a server fault."""
    if request.is_json:
        try:
            json.loads(request.get_data())
        except RecursionError:
            return _answer(400, "malformed_json", "Bad Request", "the JSON body is nested "
                           "too deeply")
        except ValueError:
            pass
    return _unexpected(exc)


def _unexpected(exc: Exception) -> Response:
    log.error("unhandled %s on %s %s\n%s", _exception_chain(exc), request.method,
              request.path, "".join(traceback.format_tb(exc.__traceback__)))
    return _answer(500, "internal_error", "Internal error", "The error has been logged.")


def _exception_chain(exc: BaseException) -> str:
    """The types along the chain, and a database error's SQLSTATE: no message (a message may
    quote a bound value or what a person typed)."""
    names = []
    seen: BaseException | None = exc
    while seen is not None and len(names) < 5:
        name = type(seen).__name__
        sqlstate = getattr(getattr(seen, "orig", None), "sqlstate", None)
        names.append(f"{name} (SQLSTATE {sqlstate})" if sqlstate else name)
        seen = seen.__cause__ or seen.__context__
    return " <- ".join(names)


def require_json_body() -> None:
    """The API reads JSON bodies only: a body of another (or no) media type is refused with
    415 rather than read as absent (which would report every field sent as missing)."""
    if request.method not in BODY_METHODS or request.is_json:
        return
    if request.content_length or request.headers.get("Transfer-Encoding"):
        raise UnsupportedMediaType(
            "send the body as JSON, with the header Content-Type: application/json"
            f" (got {request.mimetype or 'no Content-Type'})")


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
        except (IntegrityError, DataError) as exc:
            session.rollback()
            return _database_error(exc)
    else:
        session.rollback()
    return response


def _open_session() -> Session | None:
    from flask import g

    return g.get("db_session")


def init_http(app: Flask) -> None:
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(IntegrityError, _database_error)
    app.register_error_handler(DataError, _database_error)
    app.register_error_handler(RecursionError, _recursion)
    if not app.testing or not app.config.get("PROPAGATE_EXCEPTIONS"):
        app.register_error_handler(Exception, _unexpected)
    app.after_request(commit_or_rollback)
