"""Coupon schemas: what staff send to issue a coupon, and what a coupon looks like."""

from __future__ import annotations

import datetime as dt

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from loyalty import schema_fields as db_fields
from loyalty.coupons.codes import display_code
from loyalty.coupons.models import CouponStatus, OfferKind
from loyalty.db import utcnow

MAX_AMOUNT_MINOR = 100_000_000  # a million major units: anything above is a typing error
MAX_VALIDITY_DAYS = 3 * 366


class IssueCouponSchema(Schema):
    member_id = db_fields.Id(required=True, strict=True, validate=validate.Range(1))
    kind = fields.Enum(OfferKind, by_value=True, required=True)
    percent = db_fields.Integer(load_default=None, strict=True, validate=validate.Range(1, 100))
    amount_minor = db_fields.Integer(load_default=None, strict=True,
                                     validate=validate.Range(1, MAX_AMOUNT_MINOR))
    currency = db_fields.String(load_default=None, validate=validate.Regexp(r"^[A-Z]{3}$"))
    category_id = db_fields.Id(load_default=None, strict=True, validate=validate.Range(1))
    free_sku = db_fields.String(load_default=None, validate=validate.Length(1, 64))
    bonus_points = db_fields.Integer(load_default=None, strict=True,
                                     validate=validate.Range(1, 1_000_000))
    multiplier = db_fields.Integer(load_default=None, strict=True, validate=validate.Range(2, 10),
                                   metadata={"description": "points_multiplier: earned points "
                                             "x this; the extra is given as bonus points"})
    min_spend_minor = db_fields.Integer(load_default=0, strict=True,
                                        validate=validate.Range(0, MAX_AMOUNT_MINOR))
    store_id = db_fields.Id(load_default=None, strict=True, validate=validate.Range(1))
    exclusive = db_fields.Boolean(load_default=False)
    valid_from = db_fields.AwareDateTime(load_default=None)
    valid_to = db_fields.AwareDateTime(load_default=None)
    valid_days = db_fields.Integer(load_default=None, strict=True,
                                   validate=validate.Range(1, MAX_VALIDITY_DAYS))

    @validates_schema
    def one_end(self, data: dict, **_: object) -> None:
        if data.get("valid_to") is not None and data.get("valid_days") is not None:
            raise ValidationError("give valid_to or valid_days, not both", "valid_days")

    @post_load
    def end_from_days(self, data: dict, **_: object) -> dict:
        days = data.pop("valid_days")
        if days is not None:
            data["valid_to"] = (data["valid_from"] or utcnow()) + dt.timedelta(days=days)
        return data


class CouponListArgsSchema(Schema):
    member_id = db_fields.Id(required=True, strict=False, validate=validate.Range(1))
    status = fields.Enum(CouponStatus, by_value=True, load_default=None)


class CouponSchema(Schema):
    """Dumps a ``services.CouponCard``: the coupon and its signed QR payload."""

    id = fields.Integer(attribute="coupon.id")
    code = fields.String(attribute="coupon.code")
    display_code = fields.Function(lambda card: display_code(card.coupon.code))
    member_id = fields.Integer(attribute="coupon.member_id")
    campaign_id = fields.Integer(attribute="coupon.campaign_id", allow_none=True)
    kind = fields.Function(lambda card: OfferKind(card.coupon.kind).value)
    offer = fields.Dict(attribute="offer")
    store_id = fields.Integer(attribute="coupon.store_id", allow_none=True)
    exclusive = fields.Boolean(attribute="coupon.exclusive")
    valid_from = fields.DateTime(attribute="coupon.valid_from")
    valid_to = fields.DateTime(attribute="coupon.valid_to")
    status = fields.Function(lambda card: CouponStatus(card.coupon.status).value)
    issued_at = fields.DateTime(attribute="coupon.issued_at")
    redeemed_at = fields.DateTime(attribute="coupon.redeemed_at", allow_none=True)
    redeemed_basket_id = fields.Integer(attribute="coupon.redeemed_basket_id", allow_none=True)
    qr_payload = fields.String()
    explanation = fields.Dict(attribute="coupon.explanation", allow_none=True, metadata={
        "description": "a campaign coupon's reason: the campaign's kind and rule and the "
                       "member's values that matched (null for coupons issued by hand)"})
    why = fields.String(allow_none=True, metadata={
        "description": "the reason as a sentence in the member's language"})


class PublicKeySchema(Schema):
    algorithm = fields.String()
    key_id = fields.String()
    pem = fields.String()
    raw_base64 = fields.String()
    payload_format = fields.String()
