"""What the landing page shows about the chain: its stores and a few totals.  Read-only."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.baskets.models import Basket
from loyalty.ledger.models import Account, AccountKind, Entry
from loyalty.members.models import Member
from loyalty.stores.models import Store


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
        for s in session.scalars(select(Store).order_by(Store.code))
    ]
    return ChainOverview(
        stores=stores,
        members=session.scalar(select(func.count()).select_from(Member)) or 0,
        baskets=sum(per_store.values()),
        points_issued=-_programme_total(session, AccountKind.ISSUED),
        points_redeemed=_programme_total(session, AccountKind.REDEEMED),
    )


def _programme_total(session: Session, kind: AccountKind) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(Entry.amount), 0))
        .join(Account, Account.id == Entry.account_id)
        .where(Account.kind == kind, Account.member_id.is_(None))
    )
    return int(total or 0)
