"""Sales the till made while it was offline (``"offline": true``): policy in docs/OFFLINE.md.

The customer has paid and left with the slip by the time such a sale reaches us, so what the
till could not check then must not refuse the sale now:

* a coupon that proves invalid (used, expired, another member's, another store's, ...) is
  *waived*: its money discount stands, it is not redeemed (a used coupon is never used twice),
  it earns no bonus points, and a review flag names it and the reason;
* points redeemed beyond the balance are posted all the same, exactly as a return's reversal
  is (``ledger.services.take_back_points``): the balance may go negative and is flagged.

Everything else a till can get wrong (an unknown card, impossible lines, a foreign currency)
is refused as online, so the till keeps the sale in its dead letters for a person to see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from loyalty.coupons.codes import MalformedCode, display_code, normalise_code
from loyalty.coupons.engine import BasketView, PricedLine, check_combination, check_coupon, price
from loyalty.coupons.models import Coupon
from loyalty.coupons.services import CouponOutcome, find_coupon, price_coupons
from loyalty.errors import CouponRefused, UnknownCoupon
from loyalty.ledger.models import ReviewFlag

COUPON_FLAG = "offline_coupon_refused"
# A coupon in another currency cannot be priced in the basket's: it is waived with no discount.
_UNPRICEABLE = frozenset({"wrong_currency"})


@dataclass(frozen=True)
class WaivedCoupon:
    """A coupon the till took offline that proved invalid at replay.

    ``code`` is canonical, or None when what was sent is not a coupon code at all (it is then
    never repeated anywhere: it might be a payment card typed in the wrong field).
    """

    code: str | None
    reason: str
    coupon: Coupon | None = None  # None: no such coupon, or a duplicate already priced


def price_offline_coupons(
    session: Session, codes: Sequence[str], *, member_id: int, store_id: int, currency: str,
    at: dt.datetime, lines: Sequence[PricedLine],
) -> tuple[CouponOutcome, list[WaivedCoupon]]:
    """Price the coupons as online; where one is refused, waive it instead of the sale.

    Returns the outcome to commit (``coupons``: only those to redeem; ``line_discounts``:
    those plus the waived ones' discounts; ``bonus_points``: only from those redeemed) and
    the waived coupons.  No side effects.
    """
    try:
        outcome = price_coupons(session, codes, member_id=member_id, store_id=store_id,
                                currency=currency, at=at, lines=lines)
        return outcome, []
    except CouponRefused:
        pass  # the common case costs one pass; only a refusal pays for the sorting below
    basket = BasketView(member_id, store_id, currency, at, lines)
    usable, waived = _sort_coupons(session, codes, basket)
    discounted = [*usable, *(w.coupon for w in waived
                             if w.coupon is not None and w.reason not in _UNPRICEABLE)]
    outcome = CouponOutcome(usable, price(discounted, lines).line_discounts,
                            price(usable, lines).bonus_points)
    return outcome, waived


def _sort_coupons(
    session: Session, codes: Sequence[str], basket: BasketView
) -> tuple[list[Coupon], list[WaivedCoupon]]:
    """Split the codes into coupons usable now and waived ones, in the order sent."""
    usable: list[Coupon] = []
    waived: list[WaivedCoupon] = []
    seen: set[str] = set()
    for raw in codes:
        try:
            coupon = find_coupon(session, raw)
        except UnknownCoupon:
            waived.append(WaivedCoupon(_canonical_or_none(raw), "unknown"))
            continue
        if coupon.code in seen:
            waived.append(WaivedCoupon(coupon.code, "duplicate"))
            continue
        seen.add(coupon.code)
        try:
            check_coupon(coupon, basket)
            usable.append(coupon)
        except CouponRefused as exc:
            waived.append(WaivedCoupon(coupon.code, exc.reason, coupon))
    while True:  # each round takes one exclusive coupon out, so this ends
        try:
            check_combination(usable)
            return usable, waived
        except CouponRefused as exc:
            loser = next(c for c in usable if c.code == exc.extra.get("coupon_code"))
            usable.remove(loser)
            waived.append(WaivedCoupon(loser.code, exc.reason, loser))


def _canonical_or_none(raw: str) -> str | None:
    try:
        return normalise_code(raw)
    except MalformedCode:
        return None


def flag_waived_coupons(
    session: Session, member_id: int, basket_id: int, waived: Sequence[WaivedCoupon]
) -> None:
    """One review flag per waived coupon, naming its code and the reason.  Flushes."""
    if not waived:
        return
    session.add_all(
        ReviewFlag(member_id=member_id, reason=COUPON_FLAG, basket_id=basket_id,
                   detail=_coupon_detail(w))
        for w in waived
    )
    session.flush()


def _coupon_detail(waived: WaivedCoupon) -> str:
    what = f"coupon {display_code(waived.code)}" if waived.code else "a code that is no coupon"
    return f"{what} taken offline, refused at replay: {waived.reason}"
