"""``loyalty import baskets --earn``: imported baskets earn as checkout would have made them.

Each newly imported basket of a member earns under the earning rules in force when it
happened (``occurred_at``), with the member's tier multiplier as it stands now (the tier they
held then is not known), through the ledger's write path: one ``earn`` posting per basket, a
lot that expires ``lifetime_days`` after the sale.  A lot whose date has passed is expired by
the next expiry run, as it would have been.  Row by row, unlike the import itself: use it for
recent history.
"""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import bindparam, text, update
from sqlalchemy.orm import Session

from loyalty.baskets.models import Basket, BasketLine
from loyalty.ledger.models import Account, PostingKind
from loyalty.ledger.services import PostingRequest, member_account, post_sale
from loyalty.members.models import Member
from loyalty.money import minor_per_unit
from loyalty.rules.engine import EarningLine, earn
from loyalty.rules.services import rules_in_force
from loyalty.tiers.services import tier_multiplier

# The lines of the baskets this run loaded (the staging table holds only those by now).
_NEW_LINES = text(
    "SELECT b.id, b.member_id, b.store_id, b.currency, b.occurred_at, bl.line_no, bl.sku, "
    "bl.category_id, bl.net_minor FROM basket b JOIN basket_line bl ON bl.basket_id = b.id "
    "WHERE b.member_id IS NOT NULL AND b.import_ref IN "
    "(SELECT DISTINCT basket_ref FROM import_basket_stage) "
    "ORDER BY b.member_id, b.occurred_at, b.id, bl.line_no"
).columns(occurred_at=Basket.__table__.c.occurred_at.type)
_SET_BASKET_POINTS = (update(Basket.__table__)
                      .where(Basket.__table__.c.id == bindparam("of_basket"))
                      .values(points_earned=bindparam("points")))
_SET_LINE_POINTS = (update(BasketLine.__table__)
                    .where(BasketLine.__table__.c.basket_id == bindparam("of_basket"),
                           BasketLine.__table__.c.line_no == bindparam("line"))
                    .values(points_earned=bindparam("points")))


def earn_on_imported(session: Session, lifetime_days: int) -> int:
    """Post the points of the baskets just imported; returns the points posted in all."""
    conn = session.connection()
    rows = conn.execute(_NEW_LINES).all()
    total = 0
    accounts: dict[int, tuple[Member, Account]] = {}
    for basket_id, lines in itertools.groupby(rows, key=lambda row: row[0]):
        lines = list(lines)
        total += _earn_basket(session, basket_id, lines, accounts, lifetime_days)
    return total


def _earn_basket(session: Session, basket_id: int, lines: list[Any],
                 accounts: dict[int, tuple[Member, Account]], lifetime_days: int) -> int:
    _id, member_id, store_id, currency, occurred_at = lines[0][:5]
    if member_id not in accounts:  # locked once, in member order: no deadlock
        accounts[member_id] = (session.get(Member, member_id),
                               member_account(session, member_id, lock=True))
    member, account = accounts[member_id]
    earning = earn(
        [EarningLine(line.line_no, line.sku, line.category_id, line.net_minor)
         for line in lines],
        rules_in_force(session, occurred_at, currency),
        store_id=store_id, minor_per_unit=minor_per_unit(currency),
        tier_multiplier=tier_multiplier(session, member),
    )
    if earning.total <= 0:
        return 0
    post_sale(session, account, None, [PostingRequest(
        PostingKind.EARN, member_id, earning.total, occurred_at, basket_id=basket_id)],
        lifetime_days)
    conn = session.connection()
    conn.execute(_SET_BASKET_POINTS, {"of_basket": basket_id, "points": earning.total})
    conn.execute(_SET_LINE_POINTS, [{"of_basket": basket_id, "line": line_no, "points": p}
                                    for line_no, p in earning.per_line.items()])
    return earning.total
