"""The monthly tier review: one tier down at most per month, however often or at once it runs."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from loyalty.cli import main
from loyalty.members.models import Member
from loyalty.tiers.services import add_tier
from loyalty.tiers.tasks import review_due_tiers
from tests.factories import make_member, side_by_side
from tests.tasks.helpers import cli_env

MEMBERS = 12
AT = dt.datetime(2027, 3, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def tiers(db, settings):  # type: ignore[no-untyped-def]
    """Platinum members with no spend at all: each review may take them one tier down."""
    silver = add_tier(db, "silver", "Silver", 1, 10_000, 1000)
    gold = add_tier(db, "gold", "Gold", 2, 50_000, 1500)
    platinum = add_tier(db, "platinum", "Platinum", 3, 100_000, 2000)
    for _ in range(MEMBERS):
        member, _card = make_member(db, settings)
        member.tier_id = platinum.id  # a platinum member with no spend at all
    db.commit()
    # ids, not objects: touching an expired object would open a transaction SQLite's writers
    # then wait for
    return silver.id, gold.id, platinum.id


def _tiers_of_members(db) -> list[int | None]:  # type: ignore[no-untyped-def]
    tiers = list(db.scalars(select(Member.tier_id).order_by(Member.id)))
    db.rollback()  # end the read at once: SQLite's writers wait for open transactions
    return tiers


def test_a_review_moves_each_member_down_one_tier(db, tiers, sessions):
    silver, gold, _platinum = tiers
    assert review_due_tiers(sessions, AT, batch=5) == (MEMBERS, MEMBERS)
    assert _tiers_of_members(db) == [gold] * MEMBERS
    next_month = AT + dt.timedelta(days=31)
    assert review_due_tiers(sessions, next_month, batch=5) == (MEMBERS, MEMBERS)
    assert _tiers_of_members(db) == [silver] * MEMBERS


def test_a_second_review_in_the_same_month_changes_nothing(db, tiers, sessions):
    gold = tiers[1]
    review_due_tiers(sessions, AT, batch=5)
    assert review_due_tiers(sessions, AT + dt.timedelta(days=5), batch=5) == (0, 0)
    assert _tiers_of_members(db) == [gold] * MEMBERS


def test_two_reviews_at_once_move_each_member_once(db, tiers, sessions):
    gold = tiers[1]
    # side_by_side raises whatever either review raised, so neither may fail
    results = side_by_side(lambda: review_due_tiers(sessions, AT, batch=3))
    assert sum(changed for _reviewed, changed in results) == MEMBERS
    assert _tiers_of_members(db) == [gold] * MEMBERS


def test_the_task_runs_in_process_and_the_command_by_hand(app, db, tiers, settings):
    gold = tiers[1]
    assert app.extensions["celery"].tasks["tiers.review"].apply().get() == MEMBERS
    assert _tiers_of_members(db) == [gold] * MEMBERS
    env = cli_env(settings)
    result = CliRunner().invoke(main, ["tasks", "review-tiers"], env=env)
    assert result.exit_code == 0, result.output
    assert "reviewed 0 members, 0 changed tier" in result.output  # done this month already


def test_beat_reviews_tiers_monthly(app):
    entries = app.extensions["celery"].conf.beat_schedule.values()
    schedule = {e["task"]: e["schedule"] for e in entries}
    review = schedule["tiers.review"]
    assert review.day_of_month == {1} and review.hour == {2}
    assert review.minute == {30}  # 02:30 UTC, as docs/POINTS.md says
