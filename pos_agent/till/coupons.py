"""Coupons at the till: a printed code (checked by the back office, so online only) or the
signed QR payload (checked here with the programme's public key, online or offline)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from loyalty.coupons import codes, signing
from loyalty.coupons.signing import BadPayload
from loyalty.money import format_money
from pos_agent.client import BackOfficeError
from pos_agent.till.collaborators import BackOfficeClient, CacheLike
from pos_agent.till.values import AppliedCoupon, IllegalStep, InvalidInput, Member


def coupon_from_code(code: str | None, *, online: bool) -> AppliedCoupon:
    """A coupon by its printed code, as a person types it; the back office checks it."""
    try:
        canonical = codes.normalise_code(str(code))
    except ValueError:
        raise InvalidInput("not a coupon code", code="malformed_code") from None
    if not online:
        raise IllegalStep("offline: scan the coupon's QR code (a printed code cannot be "
                          "checked offline)", code="offline")
    return AppliedCoupon(code=canonical)


def coupon_from_payload(payload: str, *, key: str | None, now: dt.datetime,
                        member: Member | None) -> AppliedCoupon:
    """A coupon by its signed QR payload, verified with ``key`` (None: no key known yet)."""
    if key is None:
        raise IllegalStep("offline: no coupon key cached yet", code="offline")
    try:
        claims = signing.verify_payload(key, payload, at=now)
    except (BadPayload, ValueError) as exc:
        raise InvalidInput(f"coupon refused: {exc}", code="bad_coupon") from None
    if member is not None and member.member_id is not None \
            and claims.member_id != member.member_id:
        raise InvalidInput("this coupon belongs to another member", code="not_your_coupon")
    return AppliedCoupon(code=claims.code, payload=payload.strip(), offer=claims.offer,
                         description=describe_offer(claims.offer))


def public_key(cache: CacheLike, client: BackOfficeClient) -> str | None:
    """The programme's coupon key: the cache's copy, else the back office's (then cached).
    None when neither has it.  May call the back office: never under the session's lock."""
    pem = cache.public_key()
    if pem:
        return pem
    try:
        pem = client.public_key()
    except BackOfficeError:
        return None
    cache.put_public_key(pem)
    return pem


def describe_offer(offer: dict[str, Any]) -> str:
    kind = offer.get("kind")
    if kind == "percent_off":
        return f"{offer.get('percent')}% off"
    if kind == "amount_off":
        amount, currency = int(offer.get("amount_minor") or 0), offer.get("currency")
        return f"{format_money(amount, currency) if currency else amount} off"
    if kind == "free_item":
        return f"free {offer.get('free_sku')}"
    if kind == "bonus_points":
        return f"{offer.get('bonus_points')} bonus points"
    if kind == "points_multiplier":
        return f"x{offer.get('multiplier')} points"
    # A kind newer than this till: shown by name; the back office prices it.
    return str(kind or "coupon")
