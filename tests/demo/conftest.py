from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from loyalty.config import Settings
from loyalty.demo.plan import ChainSpec
from loyalty.demo.seed import SeedResult, seed_demo
from loyalty.migrations import upgrade

# Small enough to seed in seconds, big enough that members redeem and reach tiers.
SMALL = ChainSpec(members=30, baskets=300, days=60, seed=7)
TODAY = dt.date(2026, 6, 1)  # a fixed anchor: the same dates on every run


def seed(app: Flask, spec: ChainSpec = SMALL, **kwargs) -> SeedResult:  # type: ignore[no-untyped-def]
    kwargs.setdefault("today", TODAY)
    return seed_demo(app.extensions["loyalty.db"].session_factory,
                     app.extensions["loyalty.settings"], spec, **kwargs)


@dataclass
class Chain:
    app: Flask
    result: SeedResult

    def session(self) -> Session:
        return self.app.extensions["loyalty.db"].session_factory()


@pytest.fixture(scope="package")
def chain(database_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    """One small chain seeded into a database of its own, shared by the tests that only
    read it (seeding is the slow part: argon2 for every staff login, 300 checkouts)."""
    from loyalty.app import create_app

    folder = tmp_path_factory.mktemp("chain")
    with own_database(database_template, folder) as url:
        app = create_app(Settings(instance_path=folder / "instance", database_url=url,
                                  secret_key="test-secret", testing=True, log_level="WARNING"))
        try:
            yield Chain(app, seed(app))
        finally:
            app.extensions["loyalty.db"].engine.dispose()


@pytest.fixture
def chain_db(chain: Chain) -> Iterator[Session]:
    session = chain.session()
    yield session
    session.rollback()
    session.close()


@contextmanager
def own_database(template: str, folder: Path, suffix: str = "demo") -> Iterator[str]:
    """A migrated database for this module alone: a copy of the SQLite template, or a
    PostgreSQL database beside the worker's (which every other test truncates)."""
    if template.startswith("sqlite"):
        target = folder / "chain.db"
        shutil.copy(template.removeprefix("sqlite:///"), target)
        yield f"sqlite:///{target}"
        return
    url = make_url(template)
    name = f"{url.database}_{suffix}"
    _admin(template, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    own = url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(own)
        yield own
    finally:
        _admin(template, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(url: str, *statements: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()
