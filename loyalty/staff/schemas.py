"""Staff schemas: accounts as admins see them, and the sign-in exchange."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from loyalty import schema_fields as db_fields
from loyalty.staff.models import Role
from loyalty.staff.services import MIN_PASSWORD


class StaffInSchema(Schema):
    username = db_fields.String(required=True, validate=validate.Regexp(r"^[\w.@-]{1,100}$"))
    # An upper bound keeps a megabyte "password" from costing a megabyte of argon2 work.
    password = db_fields.String(required=True, load_only=True,
                                validate=validate.Length(MIN_PASSWORD, 1024))
    role = fields.Enum(Role, by_value=True, required=True)
    store_id = db_fields.Id(strict=True, load_default=None)
    full_name = db_fields.String(load_default="", validate=validate.Length(0, 200))


class StaffSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    full_name = fields.String()
    role = fields.Enum(Role, by_value=True)
    store_id = fields.Integer(allow_none=True)
    active = fields.Boolean()
    created_at = fields.DateTime()


class StaffQuerySchema(Schema):
    store_id = db_fields.Id(load_default=None)


class SignInSchema(Schema):
    username = db_fields.String(required=True, validate=validate.Length(1, 100))
    password = db_fields.String(required=True, load_only=True, validate=validate.Length(1, 1024))


class StaffSessionSchema(Schema):
    """A fresh API token (shown once) and who it belongs to."""

    token = fields.String()
    staff = fields.Nested(StaffSchema)
