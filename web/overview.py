"""What the landing page shows about the chain: its stores and a few totals.  Read-only."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.baskets.models import Basket
from loyalty.ledger.models import Account, AccountKind, Entry
from loyalty.members.models import Member
from loyalty.stores.services import list_stores


@dataclass(frozen=True)
class StoreLine:
    code: str
    name: str
    currency: str
    timezone: str
    baskets: int


@dataclass(frozen=True)
class ChainOverview:
    stores: list[StoreLine]
    members: int
    baskets: int
    points_issued: int  # net of returns: what the programme's issued account has given out
    points_redeemed: int  # net of points given back on returns


def chain_overview(session: Session) -> ChainOverview:
    per_store = dict(session.execute(
        select(Basket.store_id, func.count()).group_by(Basket.store_id)
    ).all())
    stores = [
        StoreLine(s.code, s.name, s.currency, s.timezone, per_store.get(s.id, 0))
        for s in list_stores(session)
    ]
    totals = _programme_totals(session)
    return ChainOverview(
        stores=stores,
        members=session.scalar(select(func.count()).select_from(Member)) or 0,
        baskets=sum(per_store.values()),
        points_issued=-totals.get(AccountKind.ISSUED, 0),
        points_redeemed=totals.get(AccountKind.REDEEMED, 0),
    )


def _programme_totals(session: Session) -> dict[AccountKind, int]:
    """The sum of the entries of each programme account, by kind, in one query."""
    rows = session.execute(
        select(Account.kind, func.sum(Entry.amount))
        .select_from(Entry)
        .join(Account, Account.id == Entry.account_id)
        .where(Account.kind.in_((AccountKind.ISSUED, AccountKind.REDEEMED)),
               Account.member_id.is_(None))
        .group_by(Account.kind)
    ).all()
    return {AccountKind(kind): int(total or 0) for kind, total in rows}
