"""Earning rule schemas: what an admin sends to add or end a rule, and how a rule reads."""

from __future__ import annotations

from fractions import Fraction

from marshmallow import Schema, ValidationError, fields, validate

from loyalty import schema_fields as db_fields
from loyalty.errors import InvalidInput
from loyalty.rules.models import RuleKind
from loyalty.rules.services import EARLIEST, LATEST, parse_rate, rate_text

MOMENTS = validate.Range(EARLIEST, LATEST)


class Rate(db_fields.String):
    """Points per major currency unit as text: ``"1"``, ``"0.5"``, ``"3/2"`` (no floats)."""

    def _deserialize(self, value: object, attr: str | None, data: object,
                     **kwargs: object) -> Fraction:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parse_rate(text)
        except InvalidInput as exc:
            raise ValidationError(exc.detail) from exc


class RuleInSchema(Schema):
    """Only the fields the kind takes (docs/POINTS.md); the others are refused."""

    name = db_fields.String(required=True, validate=validate.Length(1, 200))
    kind = fields.Enum(RuleKind, by_value=True, required=True)
    currency = db_fields.String(load_default=None, validate=validate.Regexp(r"^[A-Z]{3}$"))
    points_per_unit = Rate(load_default=None, metadata={"example": "1"})
    min_spend_minor = db_fields.Integer(load_default=None, strict=True, minimum=0)
    multiplier_permille = db_fields.Integer(load_default=None, strict=True, minimum=0)
    store_id = db_fields.Id(load_default=None, strict=True)
    category_id = db_fields.Id(load_default=None, strict=True)
    sku = db_fields.String(load_default=None, validate=validate.Length(1, 64))
    valid_from = db_fields.AwareDateTime(load_default=None, validate=MOMENTS)
    valid_to = db_fields.AwareDateTime(load_default=None, validate=MOMENTS)


class RuleEndSchema(Schema):
    at = db_fields.AwareDateTime(load_default=None, validate=MOMENTS,
                              metadata={"description": "when the rule ends (default: now)"})


class RuleListArgsSchema(Schema):
    all = fields.Boolean(load_default=False, metadata={"description": "ended rules too"})


class RuleSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.Enum(RuleKind, by_value=True)
    currency = fields.String(allow_none=True)
    points_per_unit = fields.Function(rate_text)
    min_spend_minor = fields.Integer()
    multiplier_permille = fields.Integer()
    store_id = fields.Integer(allow_none=True)
    category_id = fields.Integer(allow_none=True)
    sku = fields.String(allow_none=True)
    valid_from = fields.DateTime()
    valid_to = fields.DateTime(allow_none=True)
