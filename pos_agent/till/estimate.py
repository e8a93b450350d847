"""The till's own price of a basket when the back office cannot be asked: marked estimated,
its redemption capped by the offline rule (:func:`pos_agent.offline.offline_redeemable`).

Only the estimate differs from the back office: each percent coupon comes off the full
subtotal (the back office applies them in order on what is left), and category offers count
as no discount (they need the back office's catalog tree).  Points offers (``bonus_points``,
``points_multiplier``) and kinds this till does not know take nothing off; the estimate's points
earned are unknown anyway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from loyalty.money import max_points_for, percent_of
from pos_agent.offline import offline_redeemable
from pos_agent.till.collaborators import OutboxLike
from pos_agent.till.values import AppliedCoupon, Line, Member, Quote, TillSettings


def estimate_quote(*, lines: Sequence[Line], coupons: Sequence[AppliedCoupon], member: Member,
                   outbox: OutboxLike, settings: TillSettings, now: dt.datetime) -> Quote:
    """Offline: the till's own sums, marked estimated; redemption capped by the offline rule."""
    subtotal = sum(line.total_minor for line in lines)
    discount = min(subtotal, sum(offer_discount(c.offer, subtotal) for c in coupons))
    allowed = 0
    if member.known and member.member_id is not None and member.fetched_at is not None:
        allowed = offline_redeemable(
            cached_balance=member.balance or 0,
            pending=outbox.pending_redemptions(member.member_id, since=member.fetched_at),
            cap=settings.offline_redeem_cap, fetched_at=member.fetched_at,
            now=now, max_age=settings.member_max_age)
    value = settings.point_value_minor
    allowed = min(allowed, max_points_for(subtotal - discount, value) if value else 0)
    return Quote(subtotal_minor=subtotal, coupon_discount_minor=discount,
                 payable_minor=subtotal - discount, max_redeemable_points=max(allowed, 0),
                 point_value_minor=value, points_earned=None, balance=member.balance,
                 estimated=True)


def offer_discount(offer: dict[str, Any], subtotal: int) -> int:
    """What a basket-wide offer takes off, for the offline estimate only (rounded as the back
    office rounds: :func:`loyalty.money.percent_of`)."""
    if offer.get("category_id") is not None:
        return 0  # category offers need the back office's catalog tree: not estimated
    if subtotal < int(offer.get("min_spend_minor") or 0):
        return 0
    if offer.get("kind") == "percent_off":
        return percent_of(subtotal, int(offer.get("percent") or 0))
    if offer.get("kind") == "amount_off":
        return min(subtotal, int(offer.get("amount_minor") or 0))
    return 0
