"""Unbound extensions.  Nothing here touches a database, a broker or the network at import time;
``create_app`` binds them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, g
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from loyalty.db import end_read_transaction, make_engine, make_session_factory
from loyalty.openapi import LoyaltyApi

api = LoyaltyApi()


class Database:
    """Engine and session factory for one app; one session per request, in ``g``.

    The request owns the transaction: :func:`loyalty.http.commit_or_rollback` commits after a
    successful response and rolls back otherwise.  Services only flush.
    """

    engine: Engine
    session_factory: sessionmaker[Session]

    def init_app(self, app: Flask, url: str, **engine_kwargs: Any) -> None:
        self.engine = make_engine(url, **engine_kwargs)
        self.session_factory = make_session_factory(self.engine)
        app.extensions["loyalty.db"] = self
        app.teardown_appcontext(self._close)

    @property
    def session(self) -> Session:
        if "db_session" not in g:
            g.db_session = self.session_factory()
        return g.db_session

    @contextmanager
    def one_connection(self) -> Iterator[Session]:
        """Within: the request's session holds one connection, however many transactions it
        commits.  For a batch of sales, which commits one per sale and would otherwise take a
        connection from the pool (and ping it: ``pool_pre_ping``) for each."""
        outer = g.pop("db_session", None)
        if outer is not None:
            end_read_transaction(outer)  # the token lookup's; it keeps prepared statements
            outer.close()
        with self.engine.connect() as connection:
            g.db_session = self.session_factory(bind=connection)
            try:
                yield g.db_session
            finally:
                g.pop("db_session").close()

    def _close(self, _exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def database(app: Flask) -> Database:
    return app.extensions["loyalty.db"]
