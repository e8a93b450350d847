"""Unbound extensions.  Nothing here touches a database, a broker or the network at import time;
``create_app`` binds them."""

from __future__ import annotations

from typing import Any

from flask import Flask, g
from flask_smorest import Api
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from loyalty.db import make_engine, make_session_factory

api = Api()


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

    def _close(self, _exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def database(app: Flask) -> Database:
    return app.extensions["loyalty.db"]
