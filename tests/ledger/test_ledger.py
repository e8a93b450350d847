"""Ledger: paginated history, adjustments, FIFO expiry, and `loyalty ledger verify`."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner
from sqlalchemy import select, update

from loyalty.audit.models import AuditEvent
from loyalty.db import utcnow
from loyalty.ledger.models import Account, Lot, PostingKind
from loyalty.ledger.services import PostingRequest, earn_points, expire_points, spend_points
from loyalty.staff.models import Role
from tests.factories import auth, make_member, make_store, staff_token


def _member(db, settings):  # type: ignore[no-untyped-def]
    member, _card = make_member(db, settings)
    return member.id


def _earn(db, member_id, points, days_ago=0):  # type: ignore[no-untyped-def]
    at = utcnow() - dt.timedelta(days=days_ago)
    earn_points(db, PostingRequest(PostingKind.EARN, member_id, points, at), 365)


def test_ledger_is_paginated_newest_first(client, db, settings):
    store = make_store(db)
    member_id = _member(db, settings)
    for n in range(1, 6):
        _earn(db, member_id, n)
    token = staff_token(db, Role.CASHIER, store)
    db.commit()
    page1 = client.get(f"/api/v1/members/{member_id}/ledger?page=1&page_size=2",
                       headers=auth(token))
    assert page1.status_code == 200, page1.json
    assert [e["points"] for e in page1.json] == [5, 4]
    page3 = client.get(f"/api/v1/members/{member_id}/ledger?page=3&page_size=2",
                       headers=auth(token))
    assert [e["points"] for e in page3.json] == [1]
    assert '"total": 5' in page1.headers["X-Pagination"]


def test_adjustment_needs_reason_and_is_audited(client, db, settings):
    store = make_store(db)
    member_id = _member(db, settings)
    token = staff_token(db, Role.STORE_MANAGER, store)
    db.commit()
    url = f"/api/v1/members/{member_id}/adjustments"
    assert client.post(url, json={"points": 50}, headers=auth(token)).status_code == 422
    ok = client.post(url, json={"points": 50, "reason": "goodwill: late delivery"},
                     headers=auth(token))
    assert ok.status_code == 201 and ok.json["balance_after"] == 50
    too_much = client.post(url, json={"points": -51, "reason": "correction"}, headers=auth(token))
    assert too_much.status_code == 409 and too_much.json["code"] == "insufficient_points"
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "ledger.adjust")).all()
    assert [(e.detail["points"], e.detail["reason"]) for e in events] == [
        (50, "goodwill: late delivery")
    ]


def test_expiry_is_fifo_and_idempotent(db, settings):
    member_id = _member(db, settings)
    _earn(db, member_id, 100, days_ago=400)  # past its 365-day life
    _earn(db, member_id, 30, days_ago=10)
    account = db.scalar(select(Account).where(Account.member_id == member_id))
    # Spending 40 takes the oldest lot first: 60 of it is left to expire.
    spend_points(db, PostingRequest(PostingKind.REDEEM, member_id, -40, utcnow()), account)
    db.commit()
    assert expire_points(db) == 60
    db.commit()
    assert expire_points(db) == 0
    db.commit()
    db.expire_all()
    assert db.scalar(select(Account.balance).where(Account.member_id == member_id)) == 30
    assert sorted(db.scalars(select(Lot.remaining)).all()) == [0, 30]


def test_verify_passes_then_names_a_corrupt_balance(app, db, settings):
    from loyalty.cli import Context, main

    member_id = _member(db, settings)
    _earn(db, member_id, 10)
    db.commit()
    ctx = Context()
    ctx._app = app
    runner = CliRunner()
    ok = runner.invoke(main, ["ledger", "verify"], obj=ctx)
    assert ok.exit_code == 0, ok.output
    db.execute(update(Account).where(Account.member_id == member_id).values(balance=11))
    db.commit()
    bad = runner.invoke(main, ["ledger", "verify"], obj=ctx)
    assert bad.exit_code == 1
    assert "cached balance 11 but entries sum to 10" in bad.output
    assert "open lots hold 10, balance 11" in bad.output
