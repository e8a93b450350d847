"""The programme's accounts exist once each, even when the first two postings of a kind race.

On PostgreSQL two transactions both see no ISSUED account and both insert one, unless the
database refuses the second; on SQLite ``BEGIN IMMEDIATE`` serialises the writers, so the
same test there checks that the second writer finds the first's account.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from loyalty.db import utcnow
from loyalty.ledger.models import Account, AccountKind, PostingKind
from loyalty.ledger.services import PostingRequest, earn_points
from loyalty.ledger.verify import verify_ledger
from loyalty.migrations import upgrade
from tests.factories import make_member


def _earn(session: Session, member_id: int) -> None:
    earn_points(session, PostingRequest(PostingKind.EARN, member_id, 10, utcnow()), 365)


def _wait_until_blocked(sessions: sessionmaker[Session], is_postgres: bool) -> None:
    """Until the second transaction waits on the first (PostgreSQL shows it as a lock wait)."""
    if not is_postgres:
        time.sleep(0.5)  # SQLite shows no waiters; BEGIN IMMEDIATE is waiting by now
        return
    deadline = time.monotonic() + 10
    with sessions() as probe:
        while time.monotonic() < deadline:
            waiting = probe.scalar(text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"))
            probe.rollback()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the second posting never waited on the first")


def test_two_first_earnings_racing_share_one_issued_account(settings, sessions, is_postgres):
    with sessions() as setup:
        first = make_member(setup, settings, name="Layla Haddad")[0].id
        second = make_member(setup, settings, name="Omar Nasser")[0].id
        setup.commit()

    errors: list[BaseException] = []

    def second_posting() -> None:
        try:
            with sessions() as session:
                _earn(session, second)
                session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    with sessions() as session:
        # The first posting creates the ISSUED account and holds it uncommitted...
        _earn(session, first)
        racer = threading.Thread(target=second_posting)
        racer.start()
        # ...while the second, having looked and found none, tries to create its own.
        _wait_until_blocked(sessions, is_postgres)
        session.commit()
    racer.join(timeout=30)

    assert not racer.is_alive() and errors == []
    with sessions() as check:
        issued = check.scalar(select(func.count()).select_from(Account).where(
            Account.kind == AccountKind.ISSUED, Account.member_id.is_(None)))
        assert issued == 1
        assert verify_ledger(check) == []


@pytest.mark.sqlite_only  # the migration's check is plain SQL; PostgreSQL runs it on every template
def test_the_migration_says_plainly_when_the_race_was_already_lost(tmp_path):
    url = f"sqlite:///{tmp_path / 'raced.db'}"
    upgrade(url, "0001")
    engine = create_engine(url)
    with engine.begin() as conn:
        for _ in range(2):
            conn.execute(text("INSERT INTO account (kind, member_id, balance) "
                              "VALUES ('issued', NULL, 0)"))
    engine.dispose()

    with pytest.raises(RuntimeError, match=r"more than one programme account.*issued \(2"):
        upgrade(url)
