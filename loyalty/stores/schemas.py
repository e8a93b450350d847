"""Store and till schemas for the back office API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from loyalty import schema_fields as db_fields


class StoreInSchema(Schema):
    code = db_fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,32}$"))
    name = db_fields.String(required=True, validate=validate.Length(1, 200))
    currency = db_fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{3}$"))
    timezone = db_fields.String(required=True, validate=validate.Length(1, 64))


class StoreSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    currency = fields.String()
    timezone = fields.String()
    created_at = fields.DateTime()


class TillInSchema(Schema):
    name = db_fields.String(required=True, validate=validate.Length(1, 100))


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
