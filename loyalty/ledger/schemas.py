from __future__ import annotations

from marshmallow import Schema, fields, validate

from loyalty import schema_fields as db_fields


class LedgerLineSchema(Schema):
    entry_id = fields.Integer()
    posting_id = fields.Integer()
    kind = fields.String()
    points = fields.Integer()
    occurred_at = fields.DateTime()
    basket_id = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)


class AdjustmentInSchema(Schema):
    points = db_fields.Integer(required=True, strict=True,
                               validate=[validate.Range(-1_000_000, 1_000_000),
                                         validate.NoneOf([0], error="points cannot be 0")])
    reason = db_fields.String(required=True, validate=validate.Length(3, 500))


class AdjustmentSchema(Schema):
    posting_id = fields.Integer()
    balance_after = fields.Integer()
