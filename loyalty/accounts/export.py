"""Everything the programme holds about one member, as JSON-ready data: what "download my
data" gives them (right of access).  Read-only; bound to the one member id passed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from loyalty.baskets.models import Basket
from loyalty.cards.models import Card
from loyalty.coupons.models import Coupon
from loyalty.ledger.models import Entry, Posting
from loyalty.ledger.services import member_account
from loyalty.members.models import ConsentRecord, Member
from loyalty.stores.models import Store
from loyalty.tiers.models import Tier


def _when(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def member_data(session: Session, member_id: int) -> dict[str, Any]:
    member = session.get(Member, member_id)
    if member is None:
        raise LookupError(member_id)
    account = member_account(session, member_id)
    tier = session.get(Tier, member.tier_id) if member.tier_id else None
    return {
        "exported_at": _when(dt.datetime.now(dt.UTC)),
        "member": {
            "name": member.name, "email": member.email, "phone": member.phone,
            "birth_date": _when(member.birth_date), "gender": member.gender,
            "language": member.language, "preferred_channel": member.preferred_channel.value,
            "joined_at": _when(member.created_at), "tier": tier.name if tier else None,
        },
        "consents": [
            {"channel": r.channel.value, "granted": r.granted, "text_version": r.text_version,
             "recorded_at": _when(r.recorded_at), "source": r.source}
            for r in session.scalars(select(ConsentRecord)
                                     .where(ConsentRecord.member_id == member_id)
                                     .order_by(ConsentRecord.id))
        ],
        "cards": [
            {"number": c.number, "status": c.status.value, "issued_at": _when(c.issued_at)}
            for c in session.scalars(select(Card).where(Card.member_id == member_id)
                                     .order_by(Card.id))
        ],
        "points": {"balance": account.balance, "postings": _postings(session, account.id)},
        "baskets": _baskets(session, member_id),
        "coupons": [
            {"code": c.code, "kind": c.kind.value, "percent": c.percent,
             "amount_minor": c.amount_minor, "currency": c.currency, "status": c.status.value}
            for c in session.scalars(select(Coupon).where(Coupon.member_id == member_id)
                                     .order_by(Coupon.id))
        ],
    }


def _postings(session: Session, account_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Posting.kind, Posting.occurred_at, Posting.basket_id, Posting.reason,
               Entry.amount)
        .join(Entry, Entry.posting_id == Posting.id)
        .where(Entry.account_id == account_id)
        .order_by(Posting.occurred_at, Posting.id)
    ).all()
    return [{"kind": kind.value, "occurred_at": _when(at), "basket": basket, "reason": reason,
             "points": amount} for kind, at, basket, reason, amount in rows]


def _baskets(session: Session, member_id: int) -> list[dict[str, Any]]:
    baskets = session.scalars(
        select(Basket).where(Basket.member_id == member_id)
        .options(selectinload(Basket.lines)).order_by(Basket.occurred_at, Basket.id))
    stores = dict(session.execute(select(Store.id, Store.name)).all())
    return [
        {"id": b.id, "store": stores.get(b.store_id), "occurred_at": _when(b.occurred_at),
         "currency": b.currency, "paid_minor": b.payable_minor,
         "points_earned": b.points_earned + b.bonus_points, "points_redeemed": b.points_redeemed,
         "lines": [{"sku": line.sku, "quantity": line.quantity,
                    "unit_price_minor": line.unit_price_minor, "net_minor": line.net_minor,
                    "returned_quantity": line.returned_quantity} for line in b.lines]}
        for b in baskets
    ]
