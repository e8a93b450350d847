"""The ledger's lean write path: programme account ids remembered only once committed, spending
that reads lots a chunk at a time, and a session's own copies of lots kept truthful."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from loyalty.db import utcnow
from loyalty.ledger import services
from loyalty.ledger.models import Account, AccountKind, Entry, Lot, PostingKind
from loyalty.ledger.services import PostingRequest, earn_points, post_sale, spend_points
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
