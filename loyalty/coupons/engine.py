"""Pricing coupons against a basket: pure functions, no database.

:func:`check_coupon` says whether one coupon may be used on a basket, raising
:class:`~loyalty.errors.CouponRefused` with one reason per kind of refusal; :func:`price`
works out what a set of usable coupons takes off which lines.  ``services.price_coupons``
loads the coupons and calls these; the campaign engine and tests call them directly.

Refusal reasons (checked in this order, so a stranger's coupon reveals nothing about itself):

===================  ===============================================================
``unknown``          no such code, or a mistyped one (the check symbol fails)
``duplicate``        the same code twice in one basket
``not_yours``        the coupon belongs to another member
``used``             already redeemed
``void``             withdrawn by the programme
``not_yet_valid``    before ``valid_from``
``expired``          at or after ``valid_to`` (the window is ``[valid_from, valid_to)``)
``wrong_store``      restricted to another store
``wrong_currency``   an amount (or minimum spend) in another currency than the basket's
``minimum_not_met``  the basket's net (after the till's line discounts) is below the minimum
``not_applicable``   no line of the coupon's category, the free item is not in the basket,
                     or the lines it would discount cost nothing
``not_stackable``    an exclusive coupon together with any other coupon
===================  ===============================================================

Pricing (documented in docs/COUPONS.md): coupons apply in a fixed order whatever order the
till sent them in -- free items, then percent off, then amount off, each kind by code -- and
each works on what the lines still cost after the coupons before it, so a line is never
discounted below zero and the sum never exceeds the basket.  Percent discounts round down
(loyalty.money rule 5) and are spread over the eligible lines by largest remainder (rule 2).

A ``points_multiplier`` coupon takes nothing off: it needs the points the lines earn, which are
known only once the coupons' discounts and the points redeemed are settled, so the checkout
asks :func:`multiplier_bonus` for its extra points after earning (loyalty/checkout/pricing.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from loyalty.coupons.models import CouponStatus, OfferKind
from loyalty.errors import CouponRefused
from loyalty.money import allocate, cumulative_share, percent_of


@dataclass(frozen=True)
class PricedLine:
    """A basket line as the coupon engine sees it (after the till's own line discounts)."""

    line_no: int
    sku: str
    category_id: int | None
    quantity: int
    unit_price_minor: int
    net_minor: int


class CouponTerms(Protocol):
    """What the engine reads from a coupon (the ORM ``Coupon`` has these attributes)."""

    code: str
    member_id: int
    kind: OfferKind
    percent: int | None
    amount_minor: int | None
    currency: str | None
    category_id: int | None
    free_sku: str | None
    bonus_points: int | None
    multiplier: int | None
    min_spend_minor: int
    store_id: int | None
    exclusive: bool
    valid_from: dt.datetime
    valid_to: dt.datetime
    status: CouponStatus


@dataclass(frozen=True)
class BasketView:
    """The basket a coupon is checked against."""

    member_id: int
    store_id: int
    currency: str
    at: dt.datetime
    lines: Sequence[PricedLine]

    @property
    def net_minor(self) -> int:
        return sum(line.net_minor for line in self.lines)


@dataclass
class Pricing:
    line_discounts: dict[int, int] = field(default_factory=dict)  # line_no -> minor units
    bonus_points: int = 0


# Fixed order of application: the result never depends on the order codes were scanned.
_APPLY_ORDER = {
    OfferKind.FREE_ITEM: 0,
    OfferKind.PERCENT_OFF: 1,
    OfferKind.AMOUNT_OFF: 2,
    OfferKind.BONUS_POINTS: 3,
    OfferKind.POINTS_MULTIPLIER: 4,
}


def refuse(reason: str, code: str | None, detail: str | None = None) -> CouponRefused:
    """The refusal for one coupon; ``code`` (canonical) is named only for a real coupon."""
    # "coupon_code", not "code": the problem+json body already has a "code" member.
    extra = {"coupon_code": code} if code else {}
    return CouponRefused(reason, detail, **extra)


def check_coupon(coupon: CouponTerms, basket: BasketView) -> None:
    """Raise :class:`CouponRefused` if ``coupon`` cannot be used on ``basket``."""
    code = coupon.code
    if coupon.member_id != basket.member_id:
        raise refuse("not_yours", code, "this coupon was issued to another member")
    if coupon.status == CouponStatus.REDEEMED:
        raise refuse("used", code, "this coupon has been used already")
    if coupon.status == CouponStatus.VOID:
        raise refuse("void", code, "this coupon has been withdrawn")
    if basket.at < coupon.valid_from:
        raise refuse("not_yet_valid", code, f"valid from {coupon.valid_from.isoformat()}")
    if basket.at >= coupon.valid_to:
        raise refuse("expired", code, f"expired at {coupon.valid_to.isoformat()}")
    if coupon.store_id is not None and coupon.store_id != basket.store_id:
        raise refuse("wrong_store", code, "this coupon is for another store")
    if coupon.currency is not None and coupon.currency != basket.currency:
        raise refuse("wrong_currency", code, f"this coupon is in {coupon.currency}")
    if basket.net_minor < coupon.min_spend_minor:
        raise refuse("minimum_not_met", code,
                     f"needs a spend of at least {coupon.min_spend_minor} minor units")
    _check_applicable(coupon, basket.lines)


def _check_applicable(coupon: CouponTerms, lines: Sequence[PricedLine]) -> None:
    eligible = eligible_lines(coupon, lines)
    if not eligible:
        raise refuse("not_applicable", coupon.code, _why_not_applicable(coupon))
    if coupon.kind != OfferKind.BONUS_POINTS and sum(line.net_minor for line in eligible) == 0:
        raise refuse("not_applicable", coupon.code, "the lines it applies to cost nothing")


def _why_not_applicable(coupon: CouponTerms) -> str:
    if coupon.kind == OfferKind.FREE_ITEM:
        return f"the free item {coupon.free_sku} is not in the basket"
    return "no line of the coupon's category is in the basket"


def eligible_lines(coupon: CouponTerms, lines: Iterable[PricedLine]) -> list[PricedLine]:
    """The lines this coupon may act on: its free item, its category, or every line."""
    if coupon.kind == OfferKind.FREE_ITEM:
        return [line for line in lines if line.sku == coupon.free_sku]
    if coupon.category_id is not None:
        return [line for line in lines if line.category_id == coupon.category_id]
    return list(lines)


def check_combination(coupons: Sequence[CouponTerms]) -> None:
    """An exclusive coupon stands alone: combined with any other, it is refused."""
    if len(coupons) < 2:
        return
    for coupon in coupons:
        if coupon.exclusive:
            raise refuse("not_stackable", coupon.code,
                         "this coupon cannot be combined with other coupons")


def evaluate(coupons: Sequence[CouponTerms], basket: BasketView) -> Pricing:
    """Check every coupon and their combination, then price them.  No side effects."""
    for coupon in coupons:
        check_coupon(coupon, basket)
    check_combination(coupons)
    return price(coupons, basket.lines)


def price(coupons: Iterable[CouponTerms], lines: Sequence[PricedLine]) -> Pricing:
    """What ``coupons`` (already checked) take off each line, and the bonus points they give."""
    remaining = {line.line_no: line.net_minor for line in lines}
    pricing = Pricing()
    for coupon in sorted(coupons, key=lambda c: (_APPLY_ORDER[c.kind], c.code)):
        if coupon.kind == OfferKind.BONUS_POINTS:
            pricing.bonus_points += coupon.bonus_points or 0
            continue
        if coupon.kind == OfferKind.POINTS_MULTIPLIER:
            continue  # its bonus needs the earned points: multiplier_bonus, after earning
        for line_no, amount in _discount(coupon, lines, remaining).items():
            remaining[line_no] -= amount
            pricing.line_discounts[line_no] = pricing.line_discounts.get(line_no, 0) + amount
    pricing.line_discounts = {k: v for k, v in pricing.line_discounts.items() if v}
    return pricing


def _discount(
    coupon: CouponTerms, lines: Sequence[PricedLine], remaining: dict[int, int]
) -> dict[int, int]:
    eligible = [line for line in eligible_lines(coupon, lines) if remaining[line.line_no] > 0]
    if not eligible:
        return {}
    if coupon.kind == OfferKind.FREE_ITEM:
        # One unit of the first line holding the item: its share of the line's net, so a
        # line discount the till gave is not counted twice.
        line = eligible[0]
        unit = cumulative_share(line.net_minor, 1, line.quantity)
        return {line.line_no: min(unit, remaining[line.line_no])}
    weights = [remaining[line.line_no] for line in eligible]
    base = sum(weights)
    if coupon.kind == OfferKind.PERCENT_OFF:
        total = percent_of(base, coupon.percent or 0)
    else:
        total = min(coupon.amount_minor or 0, base)
    parts = allocate(total, weights)
    return {line.line_no: part for line, part in zip(eligible, parts, strict=True) if part}


class EarnedLine(Protocol):
    """A basket line once earning is done (the checkout's ``PricedBasketLine`` has these)."""

    category_id: int | None
    points_earned: int


def multiplier_bonus(coupons: Iterable[CouponTerms], lines: Sequence[EarnedLine]) -> int:
    """The extra points ``points_multiplier`` coupons (already checked) give on lines that have
    earned: (multiplier - 1) x the points of the coupon's lines (its category's, or all).

    Two multiplier coupons add their extras (x2 and x3 give 1 + 2 times the points), so the
    result never depends on their order.
    """
    bonus = 0
    for coupon in coupons:
        if coupon.kind != OfferKind.POINTS_MULTIPLIER:
            continue
        points = sum(line.points_earned for line in lines
                     if coupon.category_id is None or line.category_id == coupon.category_id)
        bonus += ((coupon.multiplier or 1) - 1) * points
    return bonus
