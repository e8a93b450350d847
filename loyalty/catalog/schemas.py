"""Catalog schemas: the product list tills cache."""

from __future__ import annotations

from marshmallow import Schema, fields

from loyalty import schema_fields as db_fields


class CategoryRefSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class ProductSchema(Schema):
    id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    category = fields.Nested(CategoryRefSchema)
    price_minor = fields.Integer()
    currency = fields.String()
    barcode = fields.String(allow_none=True)
    active = fields.Boolean()
    updated_at = fields.DateTime()


class ProductListArgs(Schema):
    updated_since = db_fields.AwareDateTime(
        load_default=None,
        metadata={"description": "only products changed at or after this instant (ISO 8601 "
                                 "with offset); send the last updated_at you cached"},
    )
