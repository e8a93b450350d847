"""Pricing a basket, shared by quote and commit so they can never disagree.

1. the till's lines, after its own line discounts, are the basket's ``subtotal``;
2. coupons take their discounts off eligible lines (loyalty.coupons);
3. points redeemed pay part of the rest, allocated over lines by what they cost;
4. points are earned on what is paid in money: line net - coupon discount - points value,
   under the earning rules in force when the sale *happened* (``occurred_at``), so an offline
   sale that arrives late earns what it would have earned on time;
5. a points-multiplier coupon's extra (on the points of step 4) joins the coupons' bonus points.

Pricing has no side effects; ``now`` is the caller's clock (the request's, or a replay's).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from loyalty.cards.models import Card
from loyalty.cards.services import find_usable_card
from loyalty.catalog.models import Product
from loyalty.checkout.offline import WaivedCoupon, price_offline_coupons
from loyalty.config import Settings
from loyalty.coupons.models import Coupon
from loyalty.coupons.services import CouponOutcome, PricedLine, multiplier_bonus, price_coupons
from loyalty.db import INT32_MAX, in_snapshot, remembered
from loyalty.errors import (
    CurrencyMismatch,
    InsufficientPoints,
    InvalidInput,
    NotFound,
    PointsCapExceeded,
    RedemptionTooLarge,
)
from loyalty.ledger.models import Account
from loyalty.ledger.services import member_account
from loyalty.members.models import Member
from loyalty.money import allocate, max_points_for, minor_per_unit
from loyalty.rules.engine import EarningLine, earn
from loyalty.rules.services import rules_in_force
from loyalty.stores.models import Store
from loyalty.tiers.services import tier_multiplier

MAX_LINES = 500
MAX_UNIT_PRICE_MINOR = 100_000_000  # a million major units: anything above is a typing error
MAX_QUANTITY = 10_000
MAX_SKU_LENGTH: int = Product.__table__.c.sku.type.length  # type: ignore[attr-defined]
# Every amount of a sale (a line's price, the subtotal, points) is stored in an INTEGER column:
# 32 bits on PostgreSQL.  Bounded here so a till's figures are refused with a clear answer
# rather than overflowing the column (2,147,483,647 fils is over 21 million AED).
MAX_AMOUNT_MINOR = INT32_MAX
# An offline sale may arrive late, but not from the future nor from years ago.
MAX_CLOCK_SKEW = dt.timedelta(minutes=10)
MAX_LATENESS = dt.timedelta(days=30)


@dataclass(frozen=True)
class LineIn:
    sku: str
    quantity: int
    unit_price_minor: int
    discount_minor: int = 0


@dataclass(frozen=True)
class BasketIn:
    store_id: int
    currency: str
    lines: tuple[LineIn, ...]
    card_number: str | None = None
    member_id: int | None = None
    redeem_points: int = 0
    coupon_codes: tuple[str, ...] = ()
    occurred_at: dt.datetime | None = None
    till_id: int | None = None
    external_ref: str | None = None
    offline: bool = False  # made while the till was offline: docs/OFFLINE.md


@dataclass(frozen=True)
class PricedBasketLine:
    line_no: int
    sku: str
    product_id: int | None
    category_id: int | None
    quantity: int
    unit_price_minor: int
    discount_minor: int
    net_minor: int
    coupon_discount_minor: int
    points_redeemed: int
    points_earned: int
    # The catalog's price in the sale's currency; None: an unknown SKU, or priced elsewhere.
    catalog_price_minor: int | None = None

    @property
    def paid_minor(self) -> int:
        return self.net_minor - self.coupon_discount_minor


@dataclass
class PricedBasket:
    store: Store
    member: Member
    card: Card | None
    occurred_at: dt.datetime
    currency: str
    lines: list[PricedBasketLine]
    coupons: list[Coupon]
    bonus_points: int
    balance: int
    max_redeemable_points: int
    redeem_points: int
    point_value_minor: int
    waived: list[WaivedCoupon] = field(default_factory=list)  # offline sales only

    @property
    def subtotal_minor(self) -> int:
        return sum(line.net_minor for line in self.lines)

    @property
    def coupon_discount_minor(self) -> int:
        return sum(line.coupon_discount_minor for line in self.lines)

    @property
    def redeemed_value_minor(self) -> int:
        return self.redeem_points * self.point_value_minor

    @property
    def payable_minor(self) -> int:
        return self.subtotal_minor - self.coupon_discount_minor - self.redeemed_value_minor

    @property
    def points_earned(self) -> int:
        return sum(line.points_earned for line in self.lines)


def quote_checkout(
    session: Session, settings: Settings, basket: BasketIn, now: dt.datetime
) -> PricedBasket:
    """What the basket would earn and may redeem.  No side effects."""
    return price_basket(session, settings, basket, now, check_balance=True)


def price_basket(
    session: Session, settings: Settings, basket: BasketIn, now: dt.datetime, *,
    check_balance: bool,
    member: tuple[Member, Card | None] | None = None, account: Account | None = None,
    store: Store | None = None,
) -> PricedBasket:
    """Price ``basket``; ``member``, ``account`` and ``store``, when the caller has them
    (commit holds the account locked), save looking them up again."""
    if store is None or store.id != basket.store_id:
        store = session.get(Store, basket.store_id)
    if store is None:
        raise NotFound(f"no store {basket.store_id}")
    if basket.currency != store.currency:
        raise CurrencyMismatch(f"this store sells in {store.currency}, not {basket.currency}")
    _validate_lines(basket.lines)
    occurred_at = _occurred_at(basket.occurred_at, now)
    member_, card = member or _member_for(session, settings, basket)
    products = _products(session, {line.sku for line in basket.lines})
    draft = _draft_lines(basket.lines, products)
    outcome, waived = _price_coupons(session, basket, member_.id, store, occurred_at, draft)
    payable_before_points = sum(d.net_minor for d in draft) - outcome.discount_minor
    balance = (account or member_account(session, member_.id)).balance
    max_points = min(max(balance, 0), max_points_for(payable_before_points,
                                                     settings.point_value_minor))
    _check_redemption(basket.redeem_points, balance, payable_before_points, settings,
                      check_balance)
    lines = _finish_lines(session, settings, store, member_, occurred_at, draft,
                          outcome.line_discounts, basket.redeem_points, products)
    # A multiplier coupon's extra counts towards the cap: it is earning, only given as a bonus.
    extra = multiplier_bonus(outcome.coupons, lines)
    _check_points_cap(sum(line.points_earned for line in lines) + extra, settings)
    return PricedBasket(
        store=store, member=member_, card=card, occurred_at=occurred_at, currency=store.currency,
        lines=lines, coupons=outcome.coupons, bonus_points=outcome.bonus_points + extra,
        balance=balance,
        max_redeemable_points=max_points, redeem_points=basket.redeem_points,
        point_value_minor=settings.point_value_minor, waived=waived,
    )


def _price_coupons(
    session: Session, basket: BasketIn, member_id: int, store: Store, at: dt.datetime,
    draft: list[PricedLine],
) -> tuple[CouponOutcome, list[WaivedCoupon]]:
    """Online, a refused coupon refuses the basket; offline, it is waived (docs/OFFLINE.md)."""
    terms = {"member_id": member_id, "store_id": store.id, "currency": store.currency,
             "at": at, "lines": draft}
    if basket.offline:
        return price_offline_coupons(session, basket.coupon_codes, **terms)
    return price_coupons(session, basket.coupon_codes, **terms), []


def _validate_lines(lines: tuple[LineIn, ...]) -> None:
    if not lines:
        raise InvalidInput("a basket needs at least one line")
    if len(lines) > MAX_LINES:
        raise InvalidInput(f"a basket may have at most {MAX_LINES} lines")
    for n, line in enumerate(lines, start=1):
        _validate_line(n, line)
    subtotal = sum(line.quantity * line.unit_price_minor - line.discount_minor for line in lines)
    if subtotal > MAX_AMOUNT_MINOR:
        raise InvalidInput(f"the basket's subtotal is more than one sale may hold "
                           f"({MAX_AMOUNT_MINOR} minor units)")


def _validate_line(n: int, line: LineIn) -> None:
    if not 0 < line.quantity <= MAX_QUANTITY:
        raise InvalidInput(f"line {n}: quantity must be between 1 and {MAX_QUANTITY}")
    if not 0 <= line.unit_price_minor <= MAX_UNIT_PRICE_MINOR:
        raise InvalidInput(f"line {n}: unit price {line.unit_price_minor} is not plausible")
    gross = line.quantity * line.unit_price_minor
    if gross > MAX_AMOUNT_MINOR:
        raise InvalidInput(f"line {n}: quantity x unit price is more than one sale may hold "
                           f"({MAX_AMOUNT_MINOR} minor units)")
    if not 0 <= line.discount_minor <= gross:
        raise InvalidInput(f"line {n}: discount must be between 0 and the line's price")


def _check_points_cap(points: int, settings: Settings) -> None:
    """Refuse a basket earning more than one sale may: the till's prices are trusted, but a
    typing error or a forged quote must not mint millions of points (docs/POINTS.md)."""
    cap = min(settings.max_points_per_basket, MAX_AMOUNT_MINOR)
    if points > cap:
        raise PointsCapExceeded(f"this basket would earn {points} points; one sale may earn "
                                f"at most {cap}", cap=cap, points=points)


def _occurred_at(value: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """When the sale happened: ``now`` for a live sale; a late (offline) one says when, within
    limits measured from ``now``."""
    if value is None:
        return now
    if value.tzinfo is None:
        raise InvalidInput("occurred_at needs a timezone offset")
    if value > now + MAX_CLOCK_SKEW:
        raise InvalidInput("occurred_at is in the future; check the till's clock")
    if value < now - MAX_LATENESS:
        raise InvalidInput(f"occurred_at is more than {MAX_LATENESS.days} days old")
    return value


def _member_for(
    session: Session, settings: Settings, basket: BasketIn
) -> tuple[Member, Card | None]:
    if basket.card_number:
        card = find_usable_card(session, basket.card_number, settings.card_prefix,
                                settings.card_length)
        return card.member, card
    if basket.member_id is not None:
        member = session.get(Member, basket.member_id)
        if member is None:
            raise NotFound(f"no member {basket.member_id}", code_hint="unknown_member")
        return member, None
    raise InvalidInput("identify the member: send card_number or member_id")


_PRODUCTS = (select(Product.sku, Product.id, Product.category_id, Product.price_minor,
                    Product.currency)
             .where(Product.sku.in_(bindparam("skus", expanding=True))))


def _products(session: Session, skus: set[str]) -> dict[str, Any]:
    """The catalog's id, category and price of each known SKU (plain rows: read, never
    changed).

    In a batch (:func:`~loyalty.db.reference_snapshot`) each SKU is looked up once."""
    known: dict[str, Any] = remembered(session, "catalog ids by sku", dict)
    missing = [sku for sku in skus if sku not in known]
    if missing:
        found = {p.sku: p for p in session.execute(_PRODUCTS, {"skus": missing})}
        known.update({sku: found.get(sku) for sku in missing})
    return {sku: known[sku] for sku in skus if known[sku] is not None}


# SKUs per query when a batch reads its catalog ids ahead (well under any driver's limit on
# bound parameters: a batch may name 100 x 500 lines).
PREFETCH_CHUNK = 1_000


def prefetch_catalog_ids(session: Session, skus: Iterable[str]) -> None:
    """Within a :func:`~loyalty.db.reference_snapshot`, read the catalog ids of ``skus`` now,
    in a few queries, for the sales about to be priced (a batch); without one, nothing."""
    if not in_snapshot(session):
        return
    wanted = sorted({sku for sku in skus if 0 < len(sku) <= MAX_SKU_LENGTH})
    for start in range(0, len(wanted), PREFETCH_CHUNK):
        _products(session, set(wanted[start:start + PREFETCH_CHUNK]))


def _draft_lines(lines: tuple[LineIn, ...], products: dict[str, Any]) -> list[PricedLine]:
    draft = []
    for n, line in enumerate(lines, start=1):
        product = products.get(line.sku)
        draft.append(
            PricedLine(
                line_no=n, sku=line.sku, category_id=product.category_id if product else None,
                quantity=line.quantity, unit_price_minor=line.unit_price_minor,
                net_minor=line.quantity * line.unit_price_minor - line.discount_minor,
            )
        )
    return draft


def _check_redemption(
    points: int, balance: int, payable_minor: int, settings: Settings, check_balance: bool
) -> None:
    if points < 0:
        raise InvalidInput("redeem_points cannot be negative")
    if check_balance and points > max(balance, 0):
        raise InsufficientPoints(f"balance is {balance}, {points} requested", balance=balance)
    limit = max_points_for(payable_minor, settings.point_value_minor)
    if points > limit:
        raise RedemptionTooLarge(f"this basket accepts at most {limit} points", limit=limit)


def _finish_lines(
    session: Session, settings: Settings, store: Store, member: Member, at: dt.datetime,
    draft: list[PricedLine], coupon_discounts: dict[int, int], redeem_points: int,
    products: dict[str, Any],
) -> list[PricedBasketLine]:
    after_coupons = [d.net_minor - coupon_discounts.get(d.line_no, 0) for d in draft]
    redeemed = allocate(redeem_points, after_coupons)
    paid = [a - r * settings.point_value_minor for a, r in zip(after_coupons, redeemed,
                                                               strict=True)]
    earning = earn(
        [EarningLine(d.line_no, d.sku, d.category_id, p) for d, p in zip(draft, paid,
                                                                          strict=True)],
        rules_in_force(session, at, store.currency),
        store_id=store.id,
        minor_per_unit=minor_per_unit(store.currency),
        tier_multiplier=tier_multiplier(session, member),
    )
    return [
        PricedBasketLine(
            line_no=d.line_no, sku=d.sku,
            product_id=products[d.sku].id if d.sku in products else None,
            category_id=d.category_id, quantity=d.quantity, unit_price_minor=d.unit_price_minor,
            discount_minor=d.quantity * d.unit_price_minor - d.net_minor, net_minor=d.net_minor,
            coupon_discount_minor=coupon_discounts.get(d.line_no, 0), points_redeemed=r,
            points_earned=earning.per_line[d.line_no],
            catalog_price_minor=_catalog_price(products.get(d.sku), store.currency),
        )
        for d, r in zip(draft, redeemed, strict=True)
    ]


def _catalog_price(product: Any, currency: str) -> int | None:
    return product.price_minor if product is not None and product.currency == currency else None
