"""The ledger's lean write path: programme account ids remembered only once committed, spending
that reads lots a chunk at a time, and a session's own copies of lots kept truthful."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from loyalty.db import utcnow
from loyalty.ledger import services
from loyalty.ledger.models import Account, AccountKind, Entry, Lot, PostingKind
from loyalty.ledger.services import (
    PostingRequest,
    earn_points,
    post_sale,
    spend_points,
    take_back_points,
)
from loyalty.ledger.verify import verify_ledger
from tests.factories import make_member


def _member(db, settings):  # type: ignore[no-untyped-def]
    member, _card = make_member(db, settings)
    return member.id


def _earn(db, member_id: int, points: int, days_ago: int = 0) -> None:
    at = utcnow() - dt.timedelta(days=days_ago)
    earn_points(db, PostingRequest(PostingKind.EARN, member_id, points, at), 365)


def test_a_programme_account_rolled_back_is_not_remembered(app, db, settings):
    member_id = _member(db, settings)
    db.commit()
    _earn(db, member_id, 10)  # creates the ISSUED account in this transaction...
    db.rollback()  # ...which takes it away again
    assert db.scalar(select(func.count()).select_from(Account)
                     .where(Account.member_id.is_(None))) == 0
    _earn(db, member_id, 7)  # must create it anew, not reuse a vanished id
    db.commit()
    issued = db.scalar(select(Account.id).where(Account.kind == AccountKind.ISSUED))
    assert services.programme_account_id(db, AccountKind.ISSUED) == issued
    _earn(db, member_id, 5)
    db.commit()
    assert db.scalar(select(func.sum(Entry.amount)).where(Entry.account_id == issued)) == -12
    assert verify_ledger(db) == []


def test_spending_crosses_several_chunks_of_lots_fifo(db, settings):
    member_id = _member(db, settings)
    lots = services.LOT_CHUNK * 2 + 3
    for n in range(lots):
        _earn(db, member_id, 2, days_ago=lots - n)  # oldest first: 2 points each
    db.commit()
    # Everything but one point of the youngest lot.
    spend_points(db, PostingRequest(PostingKind.REDEEM, member_id, -(2 * lots - 1), utcnow()))
    db.commit()
    remaining = db.scalars(select(Lot.remaining).order_by(Lot.expires_at, Lot.id)).all()
    assert remaining == [0] * (lots - 1) + [1]
    assert verify_ledger(db) == []


def test_a_lot_the_session_holds_shows_what_was_spent(db, settings):
    member_id = _member(db, settings)
    _earn(db, member_id, 30, days_ago=2)
    _earn(db, member_id, 30, days_ago=1)
    db.commit()
    held = db.scalars(select(Lot).order_by(Lot.expires_at)).all()
    assert [lot.remaining for lot in held] == [30, 30]
    spend_points(db, PostingRequest(PostingKind.REDEEM, member_id, -40, utcnow()))
    assert [lot.remaining for lot in held] == [0, 20]


def test_a_sale_posted_at_once_pays_an_overdraft_first(db, settings):
    member_id = _member(db, settings)
    _earn(db, member_id, 10)
    db.commit()
    account = services.member_account(db, member_id, lock=True)
    at = utcnow()
    post_sale(db, account,
              PostingRequest(PostingKind.REDEEM, member_id, -25, at),
              [PostingRequest(PostingKind.EARN, member_id, 8, at),
               PostingRequest(PostingKind.BONUS, member_id, 20, at)],
              365, overdraw=True)
    db.commit()
    # -15 after the redemption (flagged); the 8 earned pay debt; of the 20 bonus, 7 pay the
    # rest of it and 13 form a lot.
    assert account.balance == 13
    assert db.scalars(select(Lot.remaining).where(Lot.remaining > 0)).all() == [13]
    flag = db.scalar(select(services.ReviewFlag))
    assert flag is not None and flag.detail == "balance -15 after redeem"
    assert verify_ledger(db) == []


def _state(db, member_id: int) -> tuple:  # type: ignore[type-arg]
    """What a member's points look like: balance, postings in order, lots, review flags."""
    account = services.member_account(db, member_id)
    postings = db.execute(
        select(services.Posting.kind, Entry.amount)
        .join(Entry, Entry.posting_id == services.Posting.id)
        .where(services.Posting.member_id == member_id, Entry.account_id == account.id)
        .order_by(services.Posting.id)).all()
    lots = db.execute(select(Lot.points, Lot.remaining, Lot.earned_at, Lot.expires_at)
                      .where(Lot.account_id == account.id).order_by(Lot.id)).all()
    flags = db.scalars(select(services.ReviewFlag.detail)
                       .where(services.ReviewFlag.member_id == member_id)).all()
    return account.balance, [tuple(p) for p in postings], [tuple(lot) for lot in lots], flags


@pytest.mark.parametrize(("redeem", "earn", "bonus", "overdraw"), [
    (0, 8, 0, False),      # earning only
    (-25, 8, 20, False),   # a redemption across two lots, then earnings
    (-40, 0, 5, False),    # everything spent
    (-55, 8, 20, True),    # an offline overdraft, paid off by the earnings first
    (-70, 3, 0, True),     # an overdraft the earnings do not cover
])
def test_a_sale_posted_at_once_writes_what_its_postings_one_by_one_would(
        db, settings, redeem, earn, bonus, overdraw):  # type: ignore[no-untyped-def]
    one_by_one, at_once = _member(db, settings), _member(db, settings)
    at = utcnow()
    for member_id in (one_by_one, at_once):  # the same two lots each, to the microsecond
        for points, days_ago in ((10, 2), (30, 1)):
            earn_points(db, PostingRequest(PostingKind.EARN, member_id, points,
                                           at - dt.timedelta(days=days_ago)), 365)
    db.commit()

    def requests(member_id: int) -> tuple:  # type: ignore[type-arg]
        redemption = (PostingRequest(PostingKind.REDEEM, member_id, redeem, at)
                      if redeem else None)
        earnings = [PostingRequest(kind, member_id, points, at)
                    for kind, points in ((PostingKind.EARN, earn), (PostingKind.BONUS, bonus))
                    if points]
        return redemption, earnings

    redemption, earnings = requests(one_by_one)
    if redemption is not None:
        (take_back_points if overdraw else spend_points)(db, redemption)
    for req in earnings:
        earn_points(db, req, 365)
    redemption, earnings = requests(at_once)
    post_sale(db, services.member_account(db, at_once, lock=True), redemption, earnings, 365,
              overdraw=overdraw)
    db.commit()
    db.expire_all()
    assert _state(db, at_once) == _state(db, one_by_one)
    assert verify_ledger(db) == []


def test_a_programme_account_made_in_a_released_savepoint_then_rolled_back_is_forgotten(
        app, db, settings):  # type: ignore[no-untyped-def]
    member_id = _member(db, settings)
    db.commit()
    with db.begin_nested():  # a savepoint released is not a commit...
        _earn(db, member_id, 10)
    db.rollback()  # ...and the transaction around it takes the new account away
    _earn(db, member_id, 7)
    db.commit()
    issued = db.scalar(select(Account.id).where(Account.kind == AccountKind.ISSUED))
    assert issued is not None
    assert services.programme_account_id(db, AccountKind.ISSUED) == issued
    assert db.scalar(select(func.sum(Entry.amount)).where(Entry.account_id == issued)) == -7
    assert verify_ledger(db) == []
