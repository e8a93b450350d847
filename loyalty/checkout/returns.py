"""Returning items of a basket: refund, reverse points, restore coupons (docs/POINTS.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from loyalty.baskets.models import Basket, BasketLine, BasketReturn, ReturnLine
from loyalty.config import Settings
from loyalty.coupons.services import restore_coupons_for_return
from loyalty.errors import InvalidInput, NotFound, ReturnExceedsSale
from loyalty.ledger.models import Account, PostingKind
from loyalty.ledger.services import PostingRequest, earn_points, member_account, take_back_points
from loyalty.money import cumulative_share


@dataclass(frozen=True)
class ReturnLineIn:
    line_no: int
    quantity: int


@dataclass
class ReturnResult:
    return_id: int
    basket_id: int
    refund_minor: int
    points_reversed: int
    points_refunded: int
    balance_after: int
    flagged_for_review: bool
    coupons_restored: list[str]


def return_items(
    session: Session, settings: Settings, basket_id: int, lines: tuple[ReturnLineIn, ...],
    now: dt.datetime, *, store_id: int | None = None, till_id: int | None = None,
    occurred_at: dt.datetime | None = None,
) -> ReturnResult:
    """Return some or all of a basket's lines (docs/POINTS.md, "Returns").

    Earned points are reversed and redeemed points given back pro rata, cumulatively per line
    (loyalty.money rule 3), so the total reversed never exceeds what was earned.  If the member
    has spent the points already the balance may go negative: that is flagged for review,
    never written off.  Bonus points from coupons are reversed when the basket is fully
    returned, and single-use coupons come back only under the coupon return policy.
    """
    basket = session.get(Basket, basket_id)
    if basket is None or basket.member_id is None:
        raise NotFound(f"no basket {basket_id}")
    if store_id is not None and basket.store_id != store_id:
        raise NotFound(f"no basket {basket_id} in this store")
    account = member_account(session, basket.member_id, lock=True)
    by_no = {line.line_no: line for line in basket.lines}
    _validate_return(lines, by_no)
    at = now if occurred_at is None else occurred_at
    reversed_pts = refunded_pts = refund_minor = 0
    ret = BasketReturn(basket_id=basket.id, till_id=till_id, refund_minor=0, points_reversed=0,
                       points_refunded=0, occurred_at=at)
    session.add(ret)
    session.flush()
    for item in lines:
        line = by_no[item.line_no]
        before, after = line.returned_quantity, line.returned_quantity + item.quantity
        reversed_pts += _delta(line.points_earned, before, after, line.quantity)
        refunded_pts += _delta(line.points_redeemed, before, after, line.quantity)
        paid = line.net_minor - line.coupon_discount_minor - (
            line.points_redeemed * basket.redeemed_value_minor // max(basket.points_redeemed, 1)
        )
        refund_minor += _delta(paid, before, after, line.quantity)
        line.returned_quantity = after
        session.add(ReturnLine(return_id=ret.id, basket_line_id=line.id, quantity=item.quantity))
    fully = all(line.returned_quantity == line.quantity for line in basket.lines)
    if fully:
        reversed_pts += basket.bonus_points
    ret.points_reversed, ret.points_refunded, ret.refund_minor = (
        reversed_pts, refunded_pts, refund_minor)
    session.flush()
    flagged = _post_return(session, settings, basket, ret, account, reversed_pts, refunded_pts, at)
    restored = restore_coupons_for_return(session, basket.id, fully, at)
    return ReturnResult(ret.id, basket.id, refund_minor, reversed_pts, refunded_pts,
                        account.balance, flagged, [c.code for c in restored])


def _delta(total: int, before: int, after: int, sold: int) -> int:
    return cumulative_share(total, after, sold) - cumulative_share(total, before, sold)


def _validate_return(lines: tuple[ReturnLineIn, ...], by_no: dict[int, BasketLine]) -> None:
    if not lines:
        raise InvalidInput("a return needs at least one line")
    seen: set[int] = set()
    for item in lines:
        if item.line_no in seen:
            raise InvalidInput(f"line {item.line_no} is listed twice")
        seen.add(item.line_no)
        line = by_no.get(item.line_no)
        if line is None:
            raise InvalidInput(f"the basket has no line {item.line_no}")
        if item.quantity <= 0:
            raise InvalidInput(f"line {item.line_no}: quantity must be positive")
        if line.returned_quantity + item.quantity > line.quantity:
            raise ReturnExceedsSale(
                f"line {item.line_no}: {line.quantity} sold, "
                f"{line.returned_quantity} returned already"
            )


def _post_return(
    session: Session, settings: Settings, basket: Basket, ret: BasketReturn, account: Account,
    reversed_pts: int, refunded_pts: int, at: dt.datetime,
) -> bool:
    member_id = basket.member_id
    assert member_id is not None
    # Give back first, then take back: the member is debited only for what is really gone.
    if refunded_pts:
        earn_points(session, PostingRequest(PostingKind.REDEEM_REFUND, member_id, refunded_pts,
                                            at, basket_id=basket.id, return_id=ret.id),
                    settings.points_lifetime_days, account)
    if reversed_pts:
        take_back_points(session, PostingRequest(PostingKind.EARN_REVERSAL, member_id,
                                                 -reversed_pts, at, basket_id=basket.id,
                                                 return_id=ret.id), account)
    return account.balance < 0
