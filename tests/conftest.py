"""Shared fixtures: a migrated database per test on SQLite or PostgreSQL, an app, a client.

The suite runs twice (``make test``): on SQLite, and with ``LOYALTY_TEST_DATABASE_URL`` set,
on PostgreSQL.  Each xdist worker gets its own PostgreSQL database; each test starts from empty
tables (SQLite: a copy of a migrated template file; PostgreSQL: TRUNCATE with triggers off).
Tests commit for real, because locking and idempotency are what they check.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from loyalty.config import Settings
from loyalty.db import Base
from loyalty.migrations import upgrade
from tests.services import empty_pg_database

PG_URL = os.environ.get("LOYALTY_TEST_DATABASE_URL", "")
# `make test TEST_DB_PREFIX=...`: a checkout's own names, to tell its databases from another's.
DB_PREFIX = os.environ.get("LOYALTY_TEST_DB_PREFIX", "loyalty_test")
if not re.fullmatch(r"[a-z_][a-z0-9_]{0,39}", DB_PREFIX):
    raise pytest.UsageError(f"LOYALTY_TEST_DB_PREFIX={DB_PREFIX!r}: use a-z, 0-9 and _ only")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PG_URL:
        return
    skip = pytest.mark.skip(reason="PostgreSQL run only (set LOYALTY_TEST_DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_template(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[str]:
    """Migrate once per worker; return the URL tests copy (SQLite) or truncate (PostgreSQL)."""
    # xdist's worker_id fixture, without needing xdist (``-p no:xdist`` runs as "master").
    worker_id = getattr(request.config, "workerinput", {}).get("workerid", "master")
    if not PG_URL:
        path = tmp_path_factory.mktemp("template") / "template.db"
        upgrade(f"sqlite:///{path}")
        yield f"sqlite:///{path}"
        return
    # Unique per process: two test runs at once on one server must not share a database.
    name = f"{DB_PREFIX}_{worker_id}_{os.getpid()}"
    with empty_pg_database(PG_URL, name) as url:
        upgrade(url)
        yield url


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> str:
    if database_template.startswith("sqlite"):
        target = tmp_path / "loyalty.db"
        shutil.copy(database_template.removeprefix("sqlite:///"), target)
        return f"sqlite:///{target}"
    _truncate_all(database_template)
    return database_template


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        # replica mode switches the append-only guards off for this cleanup only.
        conn.execute(text("SET session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    return Settings(
        instance_path=instance,
        database_url=database_url,
        secret_key="test-secret",
        testing=True,
        log_level="WARNING",
    )


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    from loyalty.app import create_app

    app = create_app(settings)
    yield app
    app.extensions["loyalty.db"].engine.dispose()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def db(app) -> Iterator[Session]:  # type: ignore[no-untyped-def]
    """A session for arranging and inspecting data; call ``db.commit()`` to publish."""
    session = app.extensions["loyalty.db"].session_factory()
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def sessions(settings: Settings):  # type: ignore[no-untyped-def]
    """Sessions on their own engine, without the app's hooks (no after-commit relay); the
    engine is closed after."""
    from tests.tasks.helpers import plain_sessions

    factory = plain_sessions(settings.resolved_database_url)
    yield factory
    factory.kw["bind"].dispose()


@pytest.fixture
def is_postgres() -> bool:
    return bool(PG_URL)
