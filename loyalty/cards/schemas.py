"""Card schemas: what a till learns on identify, and what staff send to block or replace."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from loyalty import schema_fields as db_fields
from loyalty.cards.services import MAX_REASON_CHARS
from loyalty.coupons.models import Coupon, OfferKind
from loyalty.money import format_money


class IdentifiedMemberSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    language = fields.String()


class TierRefSchema(Schema):
    code = fields.String()
    name = fields.String()


_BASKET_OFFERS = (OfferKind.PERCENT_OFF, OfferKind.AMOUNT_OFF)


def _offer(coupon: Coupon) -> str:
    if coupon.kind == OfferKind.PERCENT_OFF:
        return f"{coupon.percent}% off"
    if coupon.kind == OfferKind.AMOUNT_OFF:
        return f"{format_money(coupon.amount_minor or 0, coupon.currency or 'XXX')} off"
    if coupon.kind == OfferKind.FREE_ITEM:
        return f"free {coupon.free_sku}"
    if coupon.kind == OfferKind.POINTS_MULTIPLIER:
        return f"x{coupon.multiplier} points"
    return f"{coupon.bonus_points} bonus points"


def describe_coupon(coupon: Coupon) -> str:
    """A short line for the till screen and the slip, e.g. "10% off, min 50.00 AED"."""
    offer = _offer(coupon)
    if coupon.category_id is not None and coupon.kind in _BASKET_OFFERS:
        offer += " on one category"
    if coupon.min_spend_minor and coupon.currency:
        offer += f", min {format_money(coupon.min_spend_minor, coupon.currency)}"
    return offer


class ActiveCouponSchema(Schema):
    code = fields.String()
    kind = fields.Enum(OfferKind, by_value=True)
    valid_to = fields.DateTime()
    description = fields.Function(describe_coupon)


class IdentitySchema(Schema):
    """The answer to ``GET /cards/<number>``."""

    card_number = fields.String(attribute="card.number")
    member = fields.Nested(IdentifiedMemberSchema)
    tier = fields.Nested(TierRefSchema, allow_none=True)
    balance = fields.Integer()
    redeemable_points = fields.Integer()
    coupons = fields.List(fields.Nested(ActiveCouponSchema))


class CardSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    member_id = fields.Integer()
    status = fields.String()
    issued_at = fields.DateTime()
    status_changed_at = fields.DateTime(allow_none=True)
    status_reason = fields.String(allow_none=True)
    replaced_by_id = fields.Integer(allow_none=True)


class CardActionInSchema(Schema):
    """Why a card is blocked or replaced (kept on the card and in the audit log)."""

    reason = db_fields.String(load_default=None, allow_none=True,
                              validate=validate.Length(max=MAX_REASON_CHARS))


class ReplacementSchema(Schema):
    old = fields.Nested(CardSchema)
    new = fields.Nested(CardSchema)
