"""Fixtures shared by the task tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from loyalty.config import Settings
from tests.tasks.helpers import plain_sessions


@pytest.fixture
def sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on their own engine, without the app's hooks; the engine is closed after."""
    factory = plain_sessions(settings.resolved_database_url)
    yield factory
    factory.kw["bind"].dispose()
