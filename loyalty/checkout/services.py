"""Quote and commit a checkout; return items.  The heart of the till's conversation.

Pricing a basket (shared by quote and commit, so they can never disagree):

1. the till's lines, after its own line discounts, are the basket's ``subtotal``;
2. coupons take their discounts off eligible lines (loyalty.coupons);
3. points redeemed pay part of the rest, allocated over lines by what they cost;
4. points are earned on what is paid in money: line net - coupon discount - points value,
   under the earning rules in force when the sale *happened* (``occurred_at``), so an offline
   sale that arrives late earns what it would have earned on time.

Commit locks in a fixed order: the member's account, then their lots, then coupons.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from loyalty.baskets.models import Basket, BasketLine, BasketReturn, ReturnLine
from loyalty.cards.models import Card
from loyalty.cards.services import find_usable_card, find_usable_card_for_sale
from loyalty.catalog.models import Product
from loyalty.checkout.offline import (
    WaivedCoupon,
    flag_waived_coupons,
    price_offline_coupons,
)
from loyalty.config import Settings
from loyalty.coupons.models import Coupon
from loyalty.coupons.services import (
    CouponOutcome,
    PricedLine,
    price_coupons,
    redeem_coupons,
    restore_coupons_for_return,
)
from loyalty.db import execute_rows, in_snapshot, remembered, utcnow
from loyalty.errors import (
    CurrencyMismatch,
    InsufficientPoints,
    InvalidInput,
    NotFound,
    RedemptionTooLarge,
    ReturnExceedsSale,
)
from loyalty.ledger.models import Account, PostingKind
from loyalty.ledger.services import (
    PostingRequest,
    earn_points,
    member_account,
    post_sale,
    take_back_points,
)
from loyalty.members.models import Member
from loyalty.money import allocate, cumulative_share, max_points_for, minor_per_unit
from loyalty.rules.engine import EarningLine, earn
from loyalty.rules.services import rules_in_force
from loyalty.stores.models import Store
from loyalty.tiers.services import tier_multiplier, upgrade_tier

MAX_LINES = 500
MAX_UNIT_PRICE_MINOR = 100_000_000  # a million major units: anything above is a typing error
MAX_QUANTITY = 10_000
MAX_SKU_LENGTH: int = Product.__table__.c.sku.type.length  # type: ignore[attr-defined]
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


@dataclass
class Receipt:
    basket_id: int
    priced: PricedBasket
    balance_after: int
    receipt_lines: list[str] = field(default_factory=list)


def quote_checkout(session: Session, settings: Settings, basket: BasketIn) -> PricedBasket:
    """What the basket would earn and may redeem.  No side effects."""
    return price_basket(session, settings, basket, check_balance=True)


def commit_checkout(session: Session, settings: Settings, basket: BasketIn) -> Receipt:
    """Store the basket, redeem the points and coupons chosen, earn points.

    Invariants: the member's balance never goes below zero through a redemption (checked
    under the account lock); a coupon is used at most once; everything or nothing is written.
    An offline sale (docs/OFFLINE.md) is the one exception to the first and to coupon
    refusals: it is kept, the coupon is waived or the balance overdrawn, and review flags say
    so.
    """
    member, card, account, store = _member_for_sale(session, settings, basket)
    priced = price_basket(session, settings, basket, check_balance=False, member=(member, card),
                          account=account, store=store)
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
    return Receipt(basket_id, priced, account.balance, _receipt_lines(priced, account.balance))


def price_basket(
    session: Session, settings: Settings, basket: BasketIn, *, check_balance: bool,
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
    occurred_at = _occurred_at(basket.occurred_at)
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
    return PricedBasket(
        store=store, member=member_, card=card, occurred_at=occurred_at, currency=store.currency,
        lines=lines, coupons=outcome.coupons, bonus_points=outcome.bonus_points, balance=balance,
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
        if not 0 < line.quantity <= MAX_QUANTITY:
            raise InvalidInput(f"line {n}: quantity must be between 1 and {MAX_QUANTITY}")
        if not 0 <= line.unit_price_minor <= MAX_UNIT_PRICE_MINOR:
            raise InvalidInput(f"line {n}: unit price {line.unit_price_minor} is not plausible")
        if not 0 <= line.discount_minor <= line.quantity * line.unit_price_minor:
            raise InvalidInput(f"line {n}: discount must be between 0 and the line's price")


def _occurred_at(value: dt.datetime | None) -> dt.datetime:
    now = utcnow()
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


_PRODUCTS = (select(Product.sku, Product.id, Product.category_id)
             .where(Product.sku.in_(bindparam("skus", expanding=True))))


def _products(session: Session, skus: set[str]) -> dict[str, Any]:
    """The catalog's id and category of each known SKU (plain rows: read, never changed).

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
        )
        for d, r in zip(draft, redeemed, strict=True)
    ]


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


# ---------------------------------------------------------------------------------------------
# Returns


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
    *, store_id: int | None = None, till_id: int | None = None,
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
    at = utcnow() if occurred_at is None else occurred_at
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
    session: Session, settings: Settings, basket: Basket, ret: BasketReturn, account,  # type: ignore[no-untyped-def]
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
