"""The ledger's write path.  Every change of points goes through :func:`post`.

Invariants (checked by ``loyalty ledger verify``):

* every posting's entries sum to zero;
* a member account's cached ``balance`` equals the sum of its entries;
* the open lots of a member hold exactly ``max(balance, 0)`` points, and none when the balance
  is negative (a return after spending: see docs/POINTS.md, "Returns").

Locking: the member account row is locked (``FOR UPDATE`` on PostgreSQL; SQLite serialises
writers with ``BEGIN IMMEDIATE``) before its balance is read, and lots are locked after it, in
id order: always account, then lots, so two writers never deadlock.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, event, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from loyalty.db import execute_rows, utcnow
from loyalty.errors import InsufficientPoints, InvalidInput, NotFound
from loyalty.ledger.models import (
    Account,
    AccountKind,
    Entry,
    Lot,
    Posting,
    PostingKind,
    ReviewFlag,
)


def open_member_account(session: Session, member_id: int) -> Account:
    """Create the member's points account (one per member)."""
    account = Account(kind=AccountKind.MEMBER, member_id=member_id, balance=0)
    session.add(account)
    session.flush()
    return account


# Programme account ids by engine, once committed: they never change or go away once created,
# so each process looks each one up once.  An id only known to a transaction still open (found
# or created in it) waits in ``session.info`` until that transaction commits: a rollback could
# take the row with it.
_PROGRAMME_IDS: weakref.WeakKeyDictionary[Any, dict[AccountKind, int]] = (
    weakref.WeakKeyDictionary())
_PENDING = "ledger.programme_account_ids"


def programme_account_id(session: Session, kind: AccountKind) -> int:
    """The id of the programme's account of ``kind``, created on first use."""
    bind = session.get_bind()
    known = _PROGRAMME_IDS.get(bind)
    if known is not None and kind in known:
        return known[kind]
    pending = session.info.setdefault(_PENDING, {})
    if kind in pending:
        return pending[kind][1]
    account_id = session.scalar(_PROGRAMME_ACCOUNT, {"kind": kind})
    if account_id is None:
        account_id = _create_programme_account(session, kind)
    pending[kind] = (bind, account_id)
    return account_id


_PROGRAMME_ACCOUNT = select(Account.id).where(Account.kind == bindparam("kind"),
                                              Account.member_id.is_(None))
_INSERT_BY_DIALECT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _create_programme_account(session: Session, kind: AccountKind) -> int:
    """Insert the account unless a concurrent transaction did first (the unique index
    ``uq_account_programme_kind`` waits for it to commit), then read whichever row stands."""
    conn = session.connection()
    statement = (_INSERT_BY_DIALECT[conn.dialect.name](_ACCOUNT)
                 .values(kind=kind, member_id=None, balance=0)
                 .on_conflict_do_nothing(index_elements=["kind"],
                                         index_where=_ACCOUNT.c.member_id.is_(None))
                 .returning(_ACCOUNT.c.id))
    account_id = conn.execute(statement).scalar()
    if account_id is None:  # lost the race: the winner's row is committed and visible now
        account_id = conn.execute(_PROGRAMME_ACCOUNT, {"kind": kind}).scalar_one()
    return account_id


@event.listens_for(Session, "after_commit")
def _remember_programme_accounts(session: Session) -> None:
    if session.get_nested_transaction() is not None:  # a savepoint: not committed yet
        return
    for kind, (bind, account_id) in session.info.pop(_PENDING, {}).items():
        _PROGRAMME_IDS.setdefault(bind, {})[kind] = account_id


@event.listens_for(Session, "after_soft_rollback")
def _forget_programme_accounts(session: Session, _previous: Any) -> None:
    session.info.pop(_PENDING, None)


_MEMBER_ACCOUNT = select(Account).where(Account.member_id == bindparam("member_id"))
# populate_existing: the locked read must replace any stale copy in the session.
_MEMBER_ACCOUNT_LOCKED = (_MEMBER_ACCOUNT.with_for_update()
                          .execution_options(populate_existing=True))


def member_account(session: Session, member_id: int, *, lock: bool = False) -> Account:
    account = session.scalar(_MEMBER_ACCOUNT_LOCKED if lock else _MEMBER_ACCOUNT,
                             {"member_id": member_id})
    if account is None:
        raise NotFound(f"member {member_id} has no points account")
    return account


def member_balance(session: Session, member_id: int) -> int:
    return member_account(session, member_id).balance


@dataclass(frozen=True)
class PostingRequest:
    kind: PostingKind
    member_id: int
    points: int  # signed change to the member's balance
    occurred_at: dt.datetime
    basket_id: int | None = None
    return_id: int | None = None
    staff_id: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Posted:
    """A posting just written (the ledger writes with plain INSERTs, not ORM objects)."""

    id: int
    kind: PostingKind
    points: int
    occurred_at: dt.datetime


_COUNTERPART = {
    PostingKind.EARN: AccountKind.ISSUED,
    PostingKind.BONUS: AccountKind.ISSUED,
    PostingKind.EARN_REVERSAL: AccountKind.ISSUED,
    PostingKind.REDEEM: AccountKind.REDEEMED,
    PostingKind.REDEEM_REFUND: AccountKind.REDEEMED,
    PostingKind.EXPIRE: AccountKind.EXPIRED,
    PostingKind.ADJUST: AccountKind.ADJUSTED,
}

# The hot writes as Core statements built once (SQLAlchemy caches their compiled form): a
# checkout writes a few rows whose ids it needs back, and the ORM's unit of work costs more
# than the database does for them.  The models stay the schema.
_ACCOUNT = Account.__table__
_LOT = Lot.__table__
_INSERT_POSTING = insert(Posting.__table__).returning(Posting.__table__.c.id,
                                                      sort_by_parameter_order=True)
_INSERT_ENTRY = insert(Entry.__table__)
_INSERT_LOT = insert(_LOT)
_SET_BALANCE = (update(_ACCOUNT).where(_ACCOUNT.c.id == bindparam("account_id"))
                .values(balance=bindparam("new_balance")))
_SET_REMAINING = (update(_LOT).where(_LOT.c.id == bindparam("lot_id"))
                  .values(remaining=bindparam("new_remaining")))
# Open lots locked and read at a time when spending (FIFO): a few first (one lot covers most
# redemptions, and every row locked is a write in PostgreSQL), then more at a time.
FIRST_LOT_CHUNK, LOT_CHUNK = 2, 16


def post(session: Session, req: PostingRequest, account: Account) -> Posted:
    """One posting: :func:`post_all` of one."""
    return post_all(session, [req], account)[0]


def post_all(session: Session, reqs: Sequence[PostingRequest], account: Account) -> list[Posted]:
    """Write postings of one member's account, in order: each balanced against its programme
    account counterpart, the cached balance updated once, in the same transaction.

    The caller must hold ``account`` locked.  Does not touch lots; callers do (earning makes a
    lot, spending consumes)."""
    if any(req.points == 0 for req in reqs):
        raise InvalidInput("a posting must move at least one point")
    counterparts = [programme_account_id(session, _COUNTERPART[req.kind]) for req in reqs]
    conn = session.connection()
    # One INSERT for all the postings; their ids come back in the order of ``reqs``.
    posting_ids = conn.execute(_INSERT_POSTING, [
        {"kind": req.kind, "member_id": req.member_id, "basket_id": req.basket_id,
         "return_id": req.return_id, "staff_id": req.staff_id, "reason": req.reason,
         "occurred_at": req.occurred_at}
        for req in reqs
    ]).scalars().all()
    posted, entries = [], []
    for req, counterpart, posting_id in zip(reqs, counterparts, posting_ids, strict=True):
        entries.append({"posting_id": posting_id, "account_id": account.id,
                        "amount": req.points})
        entries.append({"posting_id": posting_id, "account_id": counterpart,
                        "amount": -req.points})
        posted.append(Posted(posting_id, req.kind, req.points, req.occurred_at))
    conn.execute(_INSERT_ENTRY, entries)
    _set_balance(session, account, account.balance + sum(req.points for req in reqs))
    return posted


def _set_balance(session: Session, account: Account, balance: int) -> None:
    session.connection().execute(_SET_BALANCE, {"account_id": account.id,
                                                "new_balance": balance})
    set_committed_value(account, "balance", balance)


def open_lots(session: Session, account_id: int, *, lock: bool = True) -> Sequence[Lot]:
    """The account's lots with points left, oldest expiry first (FIFO)."""
    stmt = (
        select(Lot)
        .where(Lot.account_id == account_id, Lot.remaining > 0)
        .order_by(Lot.expires_at, Lot.id)
    )
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalars(stmt).all()


def _new_lot(account_id: int, posted: Posted, balance_before: int,
             lifetime_days: int) -> dict[str, Any] | None:
    """New points form a lot, after first paying off any negative balance (debt first)."""
    debt = max(0, -balance_before)
    into_lot = posted.points - min(posted.points, debt)
    if into_lot <= 0:
        return None
    return {"account_id": account_id, "posting_id": posted.id, "points": into_lot,
            "remaining": into_lot, "earned_at": posted.occurred_at,
            "expires_at": posted.occurred_at + dt.timedelta(days=lifetime_days)}


def _insert_lots(session: Session, rows: list[dict[str, Any] | None]) -> None:
    lots = [row for row in rows if row is not None]
    if lots:
        execute_rows(session.connection(), _INSERT_LOT, lots)


_OPEN_LOTS_FIFO = (
    select(_LOT.c.id, _LOT.c.remaining)
    .where(_LOT.c.account_id == bindparam("account_id"), _LOT.c.remaining > 0)
    .order_by(_LOT.c.expires_at, _LOT.c.id)
    .limit(bindparam("chunk"))
    .with_for_update()
)


def consume_lots(session: Session, account: Account, points: int) -> int:
    """Take ``points`` from the open lots FIFO; returns how many lots could not cover.

    Reads and locks only as many lots as it needs (oldest first, a chunk at a time, always
    after the account): a lot it empties drops out of the next chunk's ``remaining > 0``.
    """
    conn = session.connection()
    left, chunk = points, FIRST_LOT_CHUNK
    while left > 0:
        lots = conn.execute(_OPEN_LOTS_FIFO, {"account_id": account.id, "chunk": chunk}).all()
        changes = []
        for lot_id, remaining in lots:
            take = min(remaining, left)
            changes.append({"lot_id": lot_id, "new_remaining": remaining - take})
            left -= take
            if left == 0:
                break
        if changes:
            execute_rows(conn, _SET_REMAINING, changes)
            _expire_loaded_lots(session, [c["lot_id"] for c in changes])
        if len(lots) < chunk:
            break
        chunk = LOT_CHUNK
    return left


def _expire_loaded_lots(session: Session, lot_ids: list[int]) -> None:
    """Lots changed by a plain UPDATE: a copy the session holds must be read again."""
    for lot_id in lot_ids:
        lot = session.identity_map.get(identity_key(Lot, lot_id))
        if lot is not None:
            session.expire(lot, ["remaining"])


def earn_points(
    session: Session, req: PostingRequest, lifetime_days: int, account: Account | None = None
) -> Posted:
    """Credit earned (or bonus, or refunded) points to a member; they form a new lot."""
    account = account or member_account(session, req.member_id, lock=True)
    return post_sale(session, account, None, [req], lifetime_days)[0]


def spend_points(
    session: Session, req: PostingRequest, account: Account | None = None
) -> Posted:
    """Redeem points (``req.points`` negative).  Refuses to take the balance below zero."""
    account = account or member_account(session, req.member_id, lock=True)
    return post_sale(session, account, req, [], lifetime_days=0)[0]


def _check_spendable(account: Account, req: PostingRequest) -> None:
    if account.balance + req.points < 0:
        raise InsufficientPoints(
            f"balance is {account.balance}, {-req.points} requested",
            balance=account.balance,
        )


def take_back_points(
    session: Session, req: PostingRequest, account: Account | None = None
) -> Posted:
    """Reverse points (``req.points`` negative) even past zero, and flag a negative balance
    for review instead of writing anything off (docs/POINTS.md, "Returns")."""
    account = account or member_account(session, req.member_id, lock=True)
    return post_sale(session, account, req, [], lifetime_days=0, overdraw=True)[0]


def _flag_if_negative(session: Session, req: PostingRequest, posted: Posted,
                      balance: int) -> None:
    if balance < 0:
        session.add(
            ReviewFlag(
                member_id=req.member_id,
                reason="negative_balance",
                detail=f"balance {balance} after {req.kind.value}",
                posting_id=posted.id,
                basket_id=req.basket_id,
            )
        )
        session.flush()


def post_sale(
    session: Session, account: Account, redemption: PostingRequest | None,
    earnings: Sequence[PostingRequest], lifetime_days: int, *, overdraw: bool = False,
) -> list[Posted]:
    """Post ``redemption`` (points negative; refused past the balance unless ``overdraw``,
    which flags a negative balance instead) and then ``earnings`` (each forms a lot), in
    few statements: postings and entries, lots spent (FIFO) then lots formed, the cached
    balance set once.  The one write path of points: :func:`earn_points`, :func:`spend_points`
    and :func:`take_back_points` are its one-posting cases.  Redeeming first lets the
    earnings pay off an overdraft first.  The caller holds ``account`` locked.  Returns the
    postings in order (the redemption first).
    """
    if redemption is not None and not overdraw:
        _check_spendable(account, redemption)
    reqs = ([redemption] if redemption is not None else []) + list(earnings)
    if not reqs:
        return []
    before = account.balance
    posted = post_all(session, reqs, account)
    balance = before
    new_lots = []
    for req, done in zip(reqs, posted, strict=True):
        if req is redemption:
            consume_lots(session, account, -req.points)
            if overdraw:
                _flag_if_negative(session, req, done, balance + req.points)
        else:
            new_lots.append(_new_lot(account.id, done, balance, lifetime_days))
        balance += req.points
    _insert_lots(session, new_lots)
    return posted


def adjust_points(
    session: Session,
    member_id: int,
    points: int,
    reason: str,
    staff_id: int | None,
    actor: str,
    lifetime_days: int,
) -> Posted:
    """A staff adjustment, with a mandatory reason, audit-logged.

    A positive adjustment forms a lot; a negative one may not take the balance below zero.
    """
    from loyalty.audit.services import record_event

    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("an adjustment needs a reason")
    req = PostingRequest(
        PostingKind.ADJUST, member_id, points, utcnow(), staff_id=staff_id, reason=reason
    )
    if points > 0:
        posting = earn_points(session, req, lifetime_days)
    else:
        posting = spend_points(session, req)
    record_event(
        session, actor, "ledger.adjust", f"member:{member_id}", points=points, reason=reason,
        posting_id=posting.id,
    )
    return posting


def expire_points(session: Session, now: dt.datetime | None = None, batch: int = 500) -> int:
    """Expire every lot past its date; returns the points expired.

    Safe to run twice or twice at once: each member's account is locked before its lots are
    read, and a lot already at zero is not touched again.
    """
    now = now or utcnow()
    total = 0
    member_ids = session.scalars(
        select(Account.member_id)
        .join(Lot, Lot.account_id == Account.id)
        .where(Lot.expires_at <= now, Lot.remaining > 0)
        .group_by(Account.member_id)
        .order_by(Account.member_id)
        .limit(batch)
    ).all()
    for member_id in member_ids:
        total += _expire_member(session, member_id, now)
    return total


def _expire_member(session: Session, member_id: int, now: dt.datetime) -> int:
    account = member_account(session, member_id, lock=True)
    due = [lot for lot in open_lots(session, account.id) if lot.expires_at <= now]
    points = sum(lot.remaining for lot in due)
    if points == 0:
        return 0
    for lot in due:
        lot.remaining = 0
    post(
        session,
        PostingRequest(PostingKind.EXPIRE, member_id, -points, now, reason="lots expired"),
        account,
    )
    return points


def lots_total(session: Session, account_id: int) -> int:
    return session.scalar(
        select(func.coalesce(func.sum(Lot.remaining), 0)).where(Lot.account_id == account_id)
    )


@dataclass(frozen=True)
class LedgerLine:
    entry_id: int
    posting_id: int
    kind: str
    points: int
    occurred_at: dt.datetime
    basket_id: int | None
    reason: str | None


def member_ledger(session: Session, member_id: int, offset: int, limit: int) -> tuple[
    list[LedgerLine], int
]:
    """A page of the member's entries, newest first, and how many there are in all."""
    account = member_account(session, member_id)
    total = session.scalar(
        select(func.count()).select_from(Entry).where(Entry.account_id == account.id)
    )
    rows = session.execute(
        select(Entry, Posting)
        .join(Posting, Posting.id == Entry.posting_id)
        .where(Entry.account_id == account.id)
        .order_by(Entry.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    lines = [
        LedgerLine(e.id, p.id, p.kind.value, e.amount, p.occurred_at, p.basket_id, p.reason)
        for e, p in rows
    ]
    return lines, int(total or 0)
