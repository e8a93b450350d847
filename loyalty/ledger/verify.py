"""``loyalty ledger verify``: prove the ledger's invariants, name the culprits when one fails."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.ledger.models import Account, AccountKind, Entry, Lot


@dataclass(frozen=True)
class Discrepancy:
    what: str  # "posting", "account", "lots"
    id: int
    detail: str

    def __str__(self) -> str:
        return f"{self.what} {self.id}: {self.detail}"


def verify_ledger(session: Session) -> list[Discrepancy]:
    return [*_unbalanced_postings(session), *_stale_balances(session), *_lot_mismatches(session)]


def _unbalanced_postings(session: Session) -> list[Discrepancy]:
    rows = session.execute(
        select(Entry.posting_id, func.sum(Entry.amount))
        .group_by(Entry.posting_id)
        .having(func.sum(Entry.amount) != 0)
    )
    return [Discrepancy("posting", pid, f"entries sum to {total}, not 0") for pid, total in rows]


def _stale_balances(session: Session) -> list[Discrepancy]:
    sums = (
        select(Entry.account_id, func.sum(Entry.amount).label("total"))
        .group_by(Entry.account_id)
        .subquery()
    )
    rows = session.execute(
        select(Account.id, Account.balance, func.coalesce(sums.c.total, 0))
        .outerjoin(sums, sums.c.account_id == Account.id)
        .where(Account.kind == AccountKind.MEMBER)
        .where(Account.balance != func.coalesce(sums.c.total, 0))
    )
    return [
        Discrepancy("account", aid, f"cached balance {bal} but entries sum to {total}")
        for aid, bal, total in rows
    ]


def _lot_mismatches(session: Session) -> list[Discrepancy]:
    lots = (
        select(Lot.account_id, func.sum(Lot.remaining).label("remaining"),
               func.min(Lot.remaining).label("lowest"),
               func.max(Lot.remaining - Lot.points).label("overdrawn"))
        .group_by(Lot.account_id)
        .subquery()
    )
    rows = session.execute(
        select(Account.id, Account.balance, func.coalesce(lots.c.remaining, 0),
               func.coalesce(lots.c.lowest, 0), func.coalesce(lots.c.overdrawn, 0))
        .outerjoin(lots, lots.c.account_id == Account.id)
        .where(Account.kind == AccountKind.MEMBER)
    )
    found = []
    for aid, balance, remaining, lowest, overdrawn in rows:
        if remaining != max(balance, 0):
            found.append(Discrepancy("lots", aid, f"open lots hold {remaining}, balance {balance}"))
        elif lowest < 0 or overdrawn > 0:
            found.append(Discrepancy("lots", aid, "a lot is negative or above what it earned"))
    return found
