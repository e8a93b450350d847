"""Tier schemas: the ladder as an admin sets it and reads it."""

from __future__ import annotations

from marshmallow import Schema, fields, post_load, validate

from loyalty import schema_fields as db_fields
from loyalty.tiers.services import TierSpec


class TierInSchema(Schema):
    code = db_fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,32}$"))
    name = db_fields.String(required=True, validate=validate.Length(1, 100))
    min_spend_minor = db_fields.Integer(required=True, strict=True, minimum=0)
    multiplier_permille = db_fields.Integer(load_default=1000, strict=True, minimum=1)

    @post_load
    def spec(self, data: dict, **_: object) -> TierSpec:
        return TierSpec(**data)


class LadderInSchema(Schema):
    tiers = fields.List(fields.Nested(TierInSchema), required=True,
                        validate=validate.Length(1, 50),
                        metadata={"description": "lowest first; thresholds must increase"})


class TierSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    rank = fields.Integer()
    min_spend_minor = fields.Integer()
    multiplier_permille = fields.Integer()
