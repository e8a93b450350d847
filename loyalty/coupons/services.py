"""Coupons: issue, price at checkout, redeem once, restore on return.

CONTRACT used by the checkout (loyalty/checkout/services.py) -- keep these signatures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from loyalty.coupons.models import Coupon


@dataclass(frozen=True)
class PricedLine:
    """A basket line as the coupon engine sees it (after the till's own line discounts)."""

    line_no: int
    sku: str
    category_id: int | None
    quantity: int
    unit_price_minor: int
    net_minor: int


@dataclass
class CouponOutcome:
    coupons: list[Coupon] = field(default_factory=list)
    # line_no -> discount in minor units taken off that line by coupons (never above net)
    line_discounts: dict[int, int] = field(default_factory=dict)
    bonus_points: int = 0

    @property
    def discount_minor(self) -> int:
        return sum(self.line_discounts.values())


def price_coupons(
    session: Session,
    codes: Sequence[str],
    *,
    member_id: int,
    store_id: int,
    currency: str,
    at: dt.datetime,
    lines: Sequence[PricedLine],
) -> CouponOutcome:
    """Check and price the coupons for a basket, without changing anything.

    Raises CouponRefused(reason) for the first coupon that cannot be used.
    """
    if codes:
        raise NotImplementedError("coupons are being built")
    return CouponOutcome()


def redeem_coupons(
    session: Session, coupons: Sequence[Coupon], basket_id: int, at: dt.datetime
) -> None:
    """Mark the coupons used by this basket; exactly one concurrent caller wins per coupon."""
    if coupons:
        raise NotImplementedError("coupons are being built")


def restore_coupons_for_return(
    session: Session, basket_id: int, fully_returned: bool, at: dt.datetime
) -> list[Coupon]:
    """Give back the basket's coupons where the written return policy allows."""
    return []


def active_coupons(
    session: Session, member_id: int, at: dt.datetime, store_id: int | None = None
) -> list[Coupon]:
    """The member's coupons usable now (in this store, when given)."""
    return []
