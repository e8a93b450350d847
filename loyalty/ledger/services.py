"""The ledger's write path.  Every change of points goes through :func:`post`.

Invariants (checked by ``loyalty ledger verify``):

* every posting's entries sum to zero;
* a member account's cached ``balance`` equals the sum of its entries;
* the open lots of a member hold exactly ``max(balance, 0)`` points, and none when the balance
  is negative (a return after spending: see docs/RETURNS.md).

Locking: the member account row is locked (``FOR UPDATE`` on PostgreSQL; SQLite serialises
writers with ``BEGIN IMMEDIATE``) before its balance is read, and lots are locked after it, in
id order: always account, then lots, so two writers never deadlock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from loyalty.db import utcnow
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


def programme_account(session: Session, kind: AccountKind) -> Account:
    """The programme's account of ``kind``, created on first use (remembered per session)."""
    cache = session.info.setdefault("programme_accounts", {})
    if kind in cache and inspect(cache[kind]).persistent:  # not undone by a rollback
        return cache[kind]
    cache[kind] = account = session.scalar(
        select(Account).where(Account.kind == kind, Account.member_id.is_(None))
    )
    if account is None:
        cache[kind] = account = Account(kind=kind, member_id=None, balance=0)
        session.add(account)
        session.flush()
    return account


def member_account(session: Session, member_id: int, *, lock: bool = False) -> Account:
    stmt = select(Account).where(Account.member_id == member_id)
    if lock:
        # populate_existing: the locked read must replace any stale copy in the session.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    account = session.scalar(stmt)
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


_COUNTERPART = {
    PostingKind.EARN: AccountKind.ISSUED,
    PostingKind.BONUS: AccountKind.ISSUED,
    PostingKind.EARN_REVERSAL: AccountKind.ISSUED,
    PostingKind.REDEEM: AccountKind.REDEEMED,
    PostingKind.REDEEM_REFUND: AccountKind.REDEEMED,
    PostingKind.EXPIRE: AccountKind.EXPIRED,
    PostingKind.ADJUST: AccountKind.ADJUSTED,
}


def post(session: Session, req: PostingRequest, account: Account) -> Posting:
    """Write one balanced posting: the member's account against the programme counterpart.

    The caller must hold ``account`` locked.  Updates the cached balance in the same
    transaction.  Does not touch lots; callers do (earning makes a lot, spending consumes).
    """
    if req.points == 0:
        raise InvalidInput("a posting must move at least one point")
    counterpart = programme_account(session, _COUNTERPART[req.kind])
    posting = Posting(
        kind=req.kind,
        member_id=req.member_id,
        basket_id=req.basket_id,
        return_id=req.return_id,
        staff_id=req.staff_id,
        reason=req.reason,
        occurred_at=req.occurred_at,
    )
    posting.entries = [
        Entry(account_id=account.id, amount=req.points),
        Entry(account_id=counterpart.id, amount=-req.points),
    ]
    session.add(posting)
    account.balance += req.points
    session.flush()
    return posting


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


def add_lot(
    session: Session, account: Account, posting: Posting, points: int, lifetime_days: int
) -> None:
    """New points form a lot, after first paying off any negative balance (debt first)."""
    debt = max(0, -(account.balance - points))  # balance before this posting, if negative
    into_lot = points - min(points, debt)
    if into_lot > 0:
        session.add(
            Lot(
                account_id=account.id,
                posting_id=posting.id,
                points=into_lot,
                remaining=into_lot,
                earned_at=posting.occurred_at,
                expires_at=posting.occurred_at + dt.timedelta(days=lifetime_days),
            )
        )
        session.flush()


def consume_lots(session: Session, account: Account, points: int) -> int:
    """Take ``points`` from the open lots FIFO; returns how many lots could not cover."""
    left = points
    for lot in open_lots(session, account.id):
        if left == 0:
            break
        take = min(lot.remaining, left)
        lot.remaining -= take
        left -= take
    session.flush()
    return left


def earn_points(
    session: Session, req: PostingRequest, lifetime_days: int, account: Account | None = None
) -> Posting:
    """Credit earned (or bonus, or refunded) points to a member; they form a new lot."""
    account = account or member_account(session, req.member_id, lock=True)
    posting = post(session, req, account)
    add_lot(session, account, posting, req.points, lifetime_days)
    return posting


def spend_points(
    session: Session, req: PostingRequest, account: Account | None = None
) -> Posting:
    """Redeem points (``req.points`` negative).  Refuses to take the balance below zero."""
    account = account or member_account(session, req.member_id, lock=True)
    if account.balance + req.points < 0:
        raise InsufficientPoints(
            f"balance is {account.balance}, {-req.points} requested",
            balance=account.balance,
        )
    posting = post(session, req, account)
    consume_lots(session, account, -req.points)
    return posting


def take_back_points(
    session: Session, req: PostingRequest, account: Account | None = None
) -> Posting:
    """Reverse points (``req.points`` negative) even past zero, and flag a negative balance
    for review instead of writing anything off (docs/RETURNS.md)."""
    account = account or member_account(session, req.member_id, lock=True)
    posting = post(session, req, account)
    consume_lots(session, account, -req.points)
    if account.balance < 0:
        session.add(
            ReviewFlag(
                member_id=req.member_id,
                reason="negative_balance",
                detail=f"balance {account.balance} after {req.kind.value}",
                posting_id=posting.id,
                basket_id=req.basket_id,
            )
        )
        session.flush()
    return posting


def adjust_points(
    session: Session,
    member_id: int,
    points: int,
    reason: str,
    staff_id: int | None,
    actor: str,
    lifetime_days: int,
) -> Posting:
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
