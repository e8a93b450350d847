"""Checkout schemas: what a till sends and gets back."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from loyalty import schema_fields as db_fields
from loyalty.checkout.services import (
    MAX_LINES,
    MAX_QUANTITY,
    MAX_SKU_LENGTH,
    MAX_UNIT_PRICE_MINOR,
    BasketIn,
    LineIn,
    ReturnLineIn,
)
from loyalty.errors import InvalidInput
from loyalty.idempotency.services import check_key

# A batch is one HTTP request: small enough to answer well within a till's timeout.
MAX_BATCH = 100


class LineInSchema(Schema):
    # Its limits are restated by _plain_lines: change both, from the same constants
    # (tests/checkout/test_line_fast_path.py holds them to the same answers).
    sku = db_fields.String(required=True, validate=validate.Length(1, MAX_SKU_LENGTH))
    quantity = db_fields.Integer(required=True, strict=True,
                                 validate=validate.Range(1, MAX_QUANTITY))
    unit_price_minor = db_fields.Integer(required=True, strict=True,
                                         validate=validate.Range(0, MAX_UNIT_PRICE_MINOR))
    discount_minor = db_fields.Integer(load_default=0, strict=True, validate=validate.Range(0))

    @post_load
    def make(self, data: dict, **_: object) -> LineIn:
        return LineIn(**data)


_LINE_KEYS = frozenset({"sku", "quantity", "unit_price_minor", "discount_minor"})


def _plain_lines(value: object) -> list[LineIn] | None:
    """The lines as :class:`LineInSchema` would load them, if every one is plainly valid
    (exact types, known keys, values in range); otherwise None, and LineInSchema says what
    is wrong.  A till's basket is read on every checkout: twenty nested loads cost more than
    the rest of the request's parsing."""
    if type(value) is not list:
        return None
    lines = []
    for item in value:
        if type(item) is not dict or not item.keys() <= _LINE_KEYS:
            return None
        sku, quantity = item.get("sku"), item.get("quantity")
        price, discount = item.get("unit_price_minor"), item.get("discount_minor", 0)
        if not (type(sku) is str and 1 <= len(sku) <= MAX_SKU_LENGTH
                and db_fields.storable_text_error(sku) is None
                and type(quantity) is int and 1 <= quantity <= MAX_QUANTITY
                and type(price) is int and 0 <= price <= MAX_UNIT_PRICE_MINOR
                and type(discount) is int and 0 <= discount <= db_fields.INT32_MAX):
            return None
        lines.append(LineIn(sku, quantity, price, discount))
    return lines


class _Lines(fields.List):
    def _deserialize(self, value, attr, data, **kwargs):  # type: ignore[no-untyped-def]
        plain = _plain_lines(value)
        return plain if plain is not None else super()._deserialize(value, attr, data, **kwargs)


class BasketInSchema(Schema):
    store_id = db_fields.Id(strict=True, load_default=None)
    currency = db_fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{3}$"))
    card_number = db_fields.String(load_default=None, validate=validate.Length(1, 32))
    member_id = db_fields.Id(strict=True, load_default=None)
    lines = _Lines(fields.Nested(LineInSchema), required=True,
                   validate=validate.Length(1, MAX_LINES))
    redeem_points = db_fields.Integer(load_default=0, strict=True, validate=validate.Range(0))
    coupon_codes = fields.List(db_fields.String(validate=validate.Length(1, 64)),
                               load_default=list, validate=validate.Length(0, 10))
    occurred_at = db_fields.AwareDateTime(load_default=None)
    external_ref = db_fields.String(load_default=None, validate=validate.Length(1, 64))
    # Made while the till was offline (docs/OFFLINE.md); only true or false, never "yes".
    offline = db_fields.Boolean(load_default=False)

    @validates_schema
    def offline_needs_its_time(self, data: dict, **_: object) -> None:
        if data.get("offline") and data.get("occurred_at") is None:
            raise ValidationError("an offline sale must say when it happened", "occurred_at")

    @post_load
    def make(self, data: dict, **_: object) -> dict:
        data["lines"] = tuple(data["lines"])
        data["coupon_codes"] = tuple(data["coupon_codes"])
        return data


def basket_in(data: dict, store_id: int, till_id: int | None) -> BasketIn:
    return BasketIn(**{**data, "store_id": store_id, "till_id": till_id})


class PricedLineSchema(Schema):
    line_no = fields.Integer()
    sku = fields.String()
    quantity = fields.Integer()
    unit_price_minor = fields.Integer()
    discount_minor = fields.Integer()
    net_minor = fields.Integer()
    coupon_discount_minor = fields.Integer()
    points_redeemed = fields.Integer()
    points_earned = fields.Integer()


class QuoteSchema(Schema):
    member_id = fields.Function(lambda p: p.member.id)
    currency = fields.String()
    subtotal_minor = fields.Integer()
    coupon_discount_minor = fields.Integer()
    redeem_points = fields.Integer()
    redeemed_value_minor = fields.Integer()
    payable_minor = fields.Integer()
    points_earned = fields.Integer()
    bonus_points = fields.Integer()
    balance = fields.Integer()
    max_redeemable_points = fields.Integer()
    max_redeemable_value_minor = fields.Function(
        lambda p: p.max_redeemable_points * p.point_value_minor)
    point_value_minor = fields.Integer()
    coupons = fields.Function(lambda p: [c.code for c in p.coupons])
    lines = fields.List(fields.Nested(PricedLineSchema))


class ReceiptSchema(Schema):
    basket_id = fields.Integer()
    balance_after = fields.Integer()
    receipt_lines = fields.List(fields.String())
    points_earned = fields.Function(lambda r: r.priced.points_earned)
    bonus_points = fields.Function(lambda r: r.priced.bonus_points)
    points_redeemed = fields.Function(lambda r: r.priced.redeem_points)
    payable_minor = fields.Function(lambda r: r.priced.payable_minor)
    currency = fields.Function(lambda r: r.priced.currency)
    occurred_at = fields.Function(lambda r: r.priced.occurred_at.isoformat())
    coupons_redeemed = fields.Function(lambda r: [c.code for c in r.priced.coupons])


def _idempotency_key(value: str) -> None:
    try:
        check_key(value)
    except InvalidInput as exc:
        raise ValidationError(exc.detail) from exc


class BatchItemSchema(Schema):
    idempotency_key = db_fields.String(required=True, validate=_idempotency_key)
    # Checked item by item, exactly as the body of its own POST /checkouts would be.
    body = fields.Dict(required=True)


class BatchInSchema(Schema):
    checkouts = fields.List(fields.Nested(BatchItemSchema), required=True,
                            validate=validate.Length(1, MAX_BATCH))


class BatchResultSchema(Schema):
    idempotency_key = fields.String()
    status = fields.Integer()
    body = fields.Dict()


class BatchOutSchema(Schema):
    results = fields.List(fields.Nested(BatchResultSchema))


class ReturnLineInSchema(Schema):
    line_no = db_fields.Integer(required=True, strict=True, validate=validate.Range(1))
    quantity = db_fields.Integer(required=True, strict=True, validate=validate.Range(1))

    @post_load
    def make(self, data: dict, **_: object) -> ReturnLineIn:
        return ReturnLineIn(**data)


class ReturnInSchema(Schema):
    basket_id = db_fields.Id(required=True, strict=True)
    lines = fields.List(fields.Nested(ReturnLineInSchema), required=True,
                        validate=validate.Length(1, MAX_LINES))


class ReturnResultSchema(Schema):
    return_id = fields.Integer()
    basket_id = fields.Integer()
    refund_minor = fields.Integer()
    points_reversed = fields.Integer()
    points_refunded = fields.Integer()
    balance_after = fields.Integer()
    flagged_for_review = fields.Boolean()
    coupons_restored = fields.List(fields.String())
