"""Member aggregates: the full rebuild, as of a date, and the incremental path after checkout."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from loyalty.catalog.models import Category
from loyalty.db import utcnow
from loyalty.insight.models import MemberCategoryInsight, MemberInsight
from loyalty.outbox.models import OutboxMessage
from loyalty.worker import BEAT_SCHEDULE
from tests.checkout.conftest import basket, commit, shop  # noqa: F401 - fixture
from tests.factories import invoke_cli, make_member, make_store
from tests.insight.helpers import add_baskets, add_members, aggregate_table

UTC = dt.UTC


def _at(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=UTC)


def test_rebuild_as_of_a_date(app, db):
    store = make_store(db, "AED")
    fruit, dairy = Category(code="fruit", name="Fruit"), Category(code="dairy", name="Dairy")
    db.add_all([fruit, dairy])
    db.flush()
    ann, bob, _never = add_members(db, 3)
    add_baskets(db, store.id, [
        (ann, _at("2026-01-05", 9), [("APL", fruit.id, 300), ("MLK", dairy.id, 650)]),
        (ann, _at("2026-01-05", 18), [("APL", fruit.id, 200)]),
        (ann, _at("2026-02-10", 23), [("MLK", dairy.id, 650), ("BAG", None, 50)]),
        (ann, _at("2026-03-01"), [("MLK", dairy.id, 9999)]),  # after the as-of date
        (bob, _at("2026-02-01"), [("APL", fruit.id, 120)]),
        (None, _at("2026-02-01"), [("APL", fruit.id, 777)]),  # anonymous: not counted
    ])
    db.commit()

    result = invoke_cli(app, ["insight", "rebuild", "--as-of", "2026-02-20"])
    assert result.exit_code == 0, result.output
    assert "2 members" in result.output

    row = db.get(MemberInsight, ann)
    assert (row.first_purchase_at, row.last_purchase_at) == (_at("2026-01-05", 9),
                                                             _at("2026-02-10", 23))
    assert row.as_of == dt.date(2026, 2, 20)
    assert row.recency_days == 10
    assert row.frequency == 3
    assert row.monetary_minor == 300 + 650 + 200 + 650 + 50
    assert row.average_basket_minor == 1850 // 3
    assert db.get(MemberInsight, bob).recency_days == 19
    spend = {(r.member_id, r.category_id): (r.spend_minor, r.last_purchase_at)
             for r in db.scalars(select(MemberCategoryInsight))}
    assert spend == {
        (ann, fruit.id): (500, _at("2026-01-05", 18)),
        (ann, dairy.id): (1300, _at("2026-02-10", 23)),
        (bob, fruit.id): (120, _at("2026-02-01")),
    }


def test_rebuild_refuses_a_bad_date(app):
    result = invoke_cli(app, ["insight", "rebuild", "--as-of", "20-02-2026"])
    assert result.exit_code == 2
    assert "not a date" in result.output


def test_checkouts_keep_the_table_as_a_rebuild_would(client, db, settings, shop):  # noqa: F811
    other, other_card = make_member(db, settings, name="Omar Said")
    db.commit()
    now = utcnow()
    sales = [
        (shop.card, None, [{"sku": "MILK", "quantity": 2, "unit_price_minor": 650}]),
        (shop.card, now - dt.timedelta(days=20), [
            {"sku": "CIGS", "quantity": 1, "unit_price_minor": 2500},
            {"sku": "BREAD", "quantity": 3, "unit_price_minor": 400}]),
        (other_card.number, now - dt.timedelta(days=3), None),
        (shop.card, now - dt.timedelta(days=7), None),
    ]
    for n, (card, when, lines) in enumerate(sales):
        extra = {"card_number": card}
        if when is not None:
            extra |= {"occurred_at": when.isoformat(), "offline": True}
        resp = commit(client, shop, basket(shop, lines, **extra), f"sale-{n}")
        assert resp.status_code == 201, resp.json

    # each sale left one outbox row, and the relay ran it
    messages = db.scalars(select(OutboxMessage).where(
        OutboxMessage.task_name == "insight.refresh_member")).all()
    assert len(messages) == 4
    assert all(m.dispatched_at is not None and m.last_error is None for m in messages)

    incremental = aggregate_table(db)
    mine = db.get(MemberInsight, shop.member_id)
    assert (mine.frequency, mine.monetary_minor) == (3, 1300 + 3700 + 1700)
    assert mine.recency_days == 0
    assert db.get(MemberInsight, other.id).recency_days == 3
    assert len(incremental[1]) == 3  # (member, grocery), (member, tobacco), (other, grocery)

    db.rollback()
    result = invoke_cli(app_of(client), ["insight", "rebuild"])
    assert result.exit_code == 0, result.output
    assert aggregate_table(db) == incremental


def app_of(client):  # type: ignore[no-untyped-def]
    return client.application


def test_refresh_touches_only_that_member(app, db):
    store = make_store(db, "AED")
    ann, bob = add_members(db, 2)
    add_baskets(db, store.id, [(ann, _at("2026-01-05"), [("APL", None, 300)]),
                               (bob, _at("2026-01-06"), [("APL", None, 400)])])
    db.commit()
    assert invoke_cli(app, ["insight", "rebuild", "--as-of", "2026-01-10"]).exit_code == 0
    add_baskets(db, store.id, [(ann, _at("2026-01-07"), [("APL", None, 100)]),
                               (bob, _at("2026-01-08"), [("APL", None, 100)])])
    db.commit()
    from loyalty.insight.services import refresh_member_insight

    refresh_member_insight(db, ann, dt.date(2026, 1, 10))
    db.commit()
    assert db.get(MemberInsight, ann).monetary_minor == 400
    assert db.get(MemberInsight, bob).monetary_minor == 400  # not refreshed: unchanged
    assert db.scalar(select(func.count()).select_from(MemberInsight)) == 2


def test_nightly_rebuild_is_scheduled_and_registered(app):
    entry = BEAT_SCHEDULE["insight-rebuild"]
    assert entry["task"] == "insight.rebuild"
    celery = app.extensions["celery"]
    assert "insight.rebuild" in celery.tasks
    assert "insight.refresh_member" in celery.tasks
    assert celery.conf.beat_schedule["insight-rebuild"]["task"] == "insight.rebuild"
    # the affinities, slow on a big history, run as their own task after the members' rows
    assert "insight.rebuild_affinities" in celery.tasks
    assert celery.conf.beat_schedule["insight-rebuild-affinities"]["task"] \
        == "insight.rebuild_affinities"
