"""Committing a sale: store the basket, redeem its points and coupons, earn points.

The basket is priced by :mod:`loyalty.checkout.pricing`, exactly as its quote was.  Commit
locks in a fixed order: the member's account, then their lots, then coupons.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import insert
from sqlalchemy.orm import Session

from loyalty.baskets.models import Basket, BasketLine
from loyalty.cards.models import Card
from loyalty.cards.services import find_usable_card_for_sale
from loyalty.checkout.offline import flag_waived_coupons
from loyalty.checkout.pricing import BasketIn, PricedBasket, _member_for, price_basket
from loyalty.checkout.till_prices import review_till_prices
from loyalty.config import Settings
from loyalty.coupons.services import redeem_coupons
from loyalty.db import execute_rows
from loyalty.errors import InsufficientPoints
from loyalty.insight import REFRESH_MEMBER_TASK
from loyalty.ledger.models import Account, PostingKind
from loyalty.ledger.services import PostingRequest, member_account, post_sale
from loyalty.members.models import Member
from loyalty.outbox.services import enqueue
from loyalty.stores.models import Store
from loyalty.tiers.services import upgrade_tier


@dataclass
class Receipt:
    basket_id: int
    priced: PricedBasket
    balance_after: int
    receipt_lines: list[str] = field(default_factory=list)


def commit_checkout(
    session: Session, settings: Settings, basket: BasketIn, now: dt.datetime
) -> Receipt:
    """Store the basket, redeem the points and coupons chosen, earn points.

    Invariants: the member's balance never goes below zero through a redemption (checked
    under the account lock); a coupon is used at most once; everything or nothing is written.
    An offline sale (docs/OFFLINE.md) is the one exception to the first and to coupon
    refusals: it is kept, the coupon is waived or the balance overdrawn, and review flags say
    so.  Lines priced far from the catalog are flagged and unknown SKUs counted
    (:mod:`loyalty.checkout.till_prices`); a basket over the points cap is refused.
    """
    member, card, account, store = _member_for_sale(session, settings, basket)
    priced = price_basket(session, settings, basket, now, check_balance=False,
                          member=(member, card), account=account, store=store)
    overdraw = bool(priced.redeem_points) and priced.redeem_points > account.balance
    if overdraw and not basket.offline:
        raise InsufficientPoints(
            f"balance is {account.balance}, {priced.redeem_points} requested",
            balance=account.balance,
        )
    basket_id = _store_basket(session, basket, priced)
    redeem_coupons(session, priced.coupons, basket_id, priced.occurred_at)
    flag_waived_coupons(session, member.id, basket_id, priced.waived)
    _post_points(session, settings, priced, basket_id, account, overdraw=overdraw)
    upgrade_tier(session, priced.member, priced.occurred_at)
    review_till_prices(session, settings, priced, basket_id)
    # One outbox row: the member's insight is refreshed after commit, off the till's clock.
    enqueue(session, REFRESH_MEMBER_TASK, member_id=priced.member.id)
    return Receipt(basket_id, priced, account.balance, _receipt_lines(priced, account.balance))


def _member_for_sale(
    session: Session, settings: Settings, basket: BasketIn
) -> tuple[Member, Card | None, Account, Store | None]:
    """:func:`_member_for` and the member's account, locked, and the store when found with
    them: by card, all in one query."""
    if basket.card_number:
        card, member, account, store = find_usable_card_for_sale(
            session, basket.card_number, settings.card_prefix, settings.card_length,
            basket.store_id)
        return member, card, account, store
    member, card = _member_for(session, settings, basket)
    return member, card, member_account(session, member.id, lock=True), None


_INSERT_BASKET = insert(Basket.__table__).returning(Basket.__table__.c.id)
_INSERT_LINES = insert(BasketLine.__table__)


def _store_basket(session: Session, basket: BasketIn, priced: PricedBasket) -> int:
    """Write the basket and its lines; returns the basket's id.

    Plain INSERTs (the lines in one statement), not ORM objects: this is the hottest write of
    the checkout, and nothing later in the sale needs the rows as objects.
    """
    conn = session.connection()
    basket_id: int = conn.execute(_INSERT_BASKET, {
        "store_id": priced.store.id, "till_id": basket.till_id, "member_id": priced.member.id,
        "card_id": priced.card.id if priced.card else None, "currency": priced.currency,
        "subtotal_minor": priced.subtotal_minor,
        "coupon_discount_minor": priced.coupon_discount_minor,
        "points_redeemed": priced.redeem_points,
        "redeemed_value_minor": priced.redeemed_value_minor,
        "payable_minor": priced.payable_minor, "points_earned": priced.points_earned,
        "bonus_points": priced.bonus_points, "occurred_at": priced.occurred_at,
        "external_ref": basket.external_ref,
    }).scalar_one()
    execute_rows(conn, _INSERT_LINES, [
        {"basket_id": basket_id, "line_no": line.line_no, "sku": line.sku,
         "product_id": line.product_id, "category_id": line.category_id,
         "quantity": line.quantity, "unit_price_minor": line.unit_price_minor,
         "discount_minor": line.discount_minor,
         "coupon_discount_minor": line.coupon_discount_minor, "net_minor": line.net_minor,
         "points_earned": line.points_earned, "points_redeemed": line.points_redeemed,
         "returned_quantity": 0}
        for line in priced.lines
    ])
    return basket_id


def _post_points(
    session: Session, settings: Settings, priced: PricedBasket, basket_id: int,
    account: Account, *, overdraw: bool = False,
) -> None:
    """Redeem, then earn, so earnings pay off an overdraft first.

    ``overdraw`` (offline sales only): the redemption is posted past the balance as a return's
    reversal is, and the negative balance flagged for review (docs/OFFLINE.md).
    """
    member_id, at = priced.member.id, priced.occurred_at
    redeem = None
    if priced.redeem_points:
        redeem = PostingRequest(PostingKind.REDEEM, member_id, -priced.redeem_points, at,
                                basket_id=basket_id)
    earnings = [PostingRequest(kind, member_id, points, at, basket_id=basket_id)
                for kind, points in ((PostingKind.EARN, priced.points_earned),
                                     (PostingKind.BONUS, priced.bonus_points)) if points]
    post_sale(session, account, redeem, earnings, settings.points_lifetime_days,
              overdraw=overdraw)


def _receipt_lines(priced: PricedBasket, balance: int) -> list[str]:
    from loyalty.money import format_money

    cur = priced.currency
    lines = [f"{line.quantity} x {line.sku}  {format_money(line.net_minor, cur)}"
             for line in priced.lines]
    lines.append(f"subtotal  {format_money(priced.subtotal_minor, cur)}")
    if priced.coupon_discount_minor:
        lines.append(f"coupons  -{format_money(priced.coupon_discount_minor, cur)}")
    if priced.redeem_points:
        lines.append(f"points redeemed {priced.redeem_points}  "
                     f"-{format_money(priced.redeemed_value_minor, cur)}")
    lines.append(f"to pay  {format_money(priced.payable_minor, cur)}")
    lines.append(f"points earned {priced.points_earned + priced.bonus_points}")
    lines.append(f"balance {balance}")
    return lines
