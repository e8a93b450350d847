"""Expiry of points past their date: once, twice, twice at once, by task and by command."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from loyalty.cli import main
from loyalty.db import utcnow
from loyalty.ledger.models import Posting, PostingKind
from loyalty.ledger.services import PostingRequest, member_balance, spend_points
from loyalty.ledger.tasks import expire_due_points
from loyalty.ledger.verify import verify_ledger
from tests.factories import side_by_side
from tests.tasks.helpers import cli_env, member_with_points


@pytest.fixture
def programme(db, settings):  # type: ignore[no-untyped-def]
    """25 members with 100 points past their date, one with fresh points, one half spent."""
    expired = [member_with_points(db, settings, 100, days_ago=400 + n) for n in range(25)]
    fresh = member_with_points(db, settings, 70, days_ago=10)
    half_spent = member_with_points(db, settings, 80, days_ago=380)
    spend_points(db, PostingRequest(PostingKind.REDEEM, half_spent, -30, utcnow()))
    db.commit()
    return expired, fresh, half_spent


def _expire_postings(db) -> dict[int, int]:  # type: ignore[no-untyped-def]
    rows = db.execute(select(Posting.member_id, func.count()).where(
        Posting.kind == PostingKind.EXPIRE).group_by(Posting.member_id)).all()
    return dict(rows)


def _assert_expired_once(db, programme) -> None:  # type: ignore[no-untyped-def]
    expired, fresh, half_spent = programme
    db.expire_all()
    assert all(member_balance(db, m) == 0 for m in expired)
    assert member_balance(db, fresh) == 70
    assert member_balance(db, half_spent) == 0
    assert _expire_postings(db) == {**{m: 1 for m in expired}, half_spent: 1}
    assert verify_ledger(db) == []
    db.rollback()


def test_expiry_takes_what_is_past_its_date_and_nothing_else(db, programme, sessions):
    assert expire_due_points(sessions, batch=4) == 25 * 100 + 50
    _assert_expired_once(db, programme)


def test_running_expiry_twice_has_the_effect_of_once(db, programme, sessions):
    assert expire_due_points(sessions, batch=4) == 2550
    assert expire_due_points(sessions, batch=4) == 0
    _assert_expired_once(db, programme)


def test_running_expiry_twice_at_once_has_the_effect_of_once(db, programme, sessions):
    # side_by_side raises whatever either run raised, so neither may fail
    results = side_by_side(lambda: expire_due_points(sessions, batch=3))
    assert sum(results) == 2550  # split between the two runs, never counted twice
    _assert_expired_once(db, programme)


def test_the_task_expires_in_process_in_the_embedded_default(app, db, programme):
    task = app.extensions["celery"].tasks["ledger.expire_points"]
    assert task.apply().get() == 2550
    _assert_expired_once(db, programme)


def test_loyalty_tasks_expire_from_cron_or_by_hand(db, programme, settings):
    env = cli_env(settings)
    result = CliRunner().invoke(main, ["tasks", "expire"], env=env)
    assert result.exit_code == 0, result.output
    assert "expired 2550 points" in result.output
    assert "expired 0 points" in CliRunner().invoke(main, ["tasks", "expire"], env=env).output
    _assert_expired_once(db, programme)


def test_beat_runs_expiry_hourly_and_the_relay_every_few_seconds(app):
    schedule = app.extensions["celery"].conf.beat_schedule
    by_task = {entry["task"]: entry["schedule"] for entry in schedule.values()}
    assert by_task["outbox.relay"] <= 5
    hourly = by_task["ledger.expire_points"]
    assert hourly.minute == {5} and len(hourly.hour) == 24
