"""Baskets written straight into the tables (history, as an import would leave it)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from loyalty.baskets.models import Basket, BasketLine
from loyalty.insight.aggregates import AGGREGATE_COLUMNS
from loyalty.insight.models import MemberCategoryInsight, MemberInsight
from loyalty.members.models import Member


def add_members(db: Session, count: int) -> list[int]:
    db.execute(insert(Member), [{"name": f"Member {i}"} for i in range(count)])
    return list(db.scalars(select(Member.id).order_by(Member.id.desc()).limit(count)))[::-1]


def add_baskets(db: Session, store_id: int, sales: list[tuple[int, dt.datetime, list[tuple]]]
                ) -> None:
    """``sales``: (member id, when, [(sku, category id or None, amount minor), ...])."""
    conn = db.connection()
    for member_id, when, lines in sales:
        total = sum(amount for _, _, amount in lines)
        basket_id = conn.execute(insert(Basket.__table__).returning(Basket.__table__.c.id), {
            "store_id": store_id, "member_id": member_id, "currency": "AED",
            "subtotal_minor": total, "payable_minor": total, "occurred_at": when,
            "coupon_discount_minor": 0, "points_redeemed": 0, "redeemed_value_minor": 0,
            "points_earned": 0, "bonus_points": 0, "received_at": when,
        }).scalar_one()
        conn.execute(insert(BasketLine.__table__), [
            {"basket_id": basket_id, "line_no": n, "sku": sku, "category_id": category,
             "quantity": 1, "unit_price_minor": amount, "discount_minor": 0,
             "coupon_discount_minor": 0, "net_minor": amount, "points_earned": 0,
             "points_redeemed": 0, "returned_quantity": 0}
            for n, (sku, category, amount) in enumerate(lines, start=1)
        ])


def aggregate_table(db: Session) -> tuple[list[tuple], list[tuple]]:
    """The aggregate columns of both insight tables, in key order."""
    mi = MemberInsight.__table__
    mci = MemberCategoryInsight.__table__
    members = db.execute(select(mi.c.member_id, *(mi.c[c] for c in AGGREGATE_COLUMNS))
                         .order_by(mi.c.member_id)).all()
    categories = db.execute(select(mci).order_by(mci.c.member_id, mci.c.category_id)).all()
    return [tuple(r) for r in members], [tuple(r) for r in categories]
