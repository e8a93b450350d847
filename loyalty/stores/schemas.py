"""Store and till schemas for the back office API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class StoreInSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,32}$"))
    name = fields.String(required=True, validate=validate.Length(1, 200))
    currency = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{3}$"))
    timezone = fields.String(required=True, validate=validate.Length(1, 64))


class StoreSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    currency = fields.String()
    timezone = fields.String()
    created_at = fields.DateTime()


class TillInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 100))


class TillSchema(Schema):
    id = fields.Integer()
    store_id = fields.Integer()
    name = fields.String()
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    active = fields.Function(lambda till: till.revoked_at is None)


class NewTillSchema(Schema):
    """A till just added, with its bearer token: the only time the token is ever shown."""

    till = fields.Nested(TillSchema)
    token = fields.String()
