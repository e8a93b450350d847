"""What the API shows of a member's insight (the member 360 view)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, pre_dump


class CategoryHabitSchema(Schema):
    category_id = fields.Integer()
    category_code = fields.String()
    spend_minor = fields.Integer()
    last_purchase_at = fields.AwareDateTime()


class MemberInsightSchema(Schema):
    member_id = fields.Integer()
    as_of = fields.Date(allow_none=True)
    first_purchase_at = fields.AwareDateTime(allow_none=True)
    last_purchase_at = fields.AwareDateTime(allow_none=True)
    recency_days = fields.Integer(allow_none=True)
    frequency = fields.Integer(allow_none=True,
                               metadata={"description": "distinct baskets"})
    monetary_minor = fields.Integer(allow_none=True)
    average_basket_minor = fields.Integer(allow_none=True)
    r = fields.Integer(allow_none=True)
    f = fields.Integer(allow_none=True)
    m = fields.Integer(allow_none=True)
    segment = fields.String(allow_none=True)
    p_alive = fields.Float(allow_none=True)
    expected_purchases_90d = fields.Float(allow_none=True)
    expected_value_minor = fields.Integer(allow_none=True)
    categories = fields.List(fields.Nested(CategoryHabitSchema))

    @pre_dump
    def flatten(self, view: Any, **_: object) -> dict[str, Any]:
        """Every field present, null before the first purchase is counted."""
        row = view.insight
        out = {name: getattr(row, name, None) if row is not None else None
               for name in self.fields if name not in ("member_id", "categories")}
        return {**out, "member_id": view.member_id, "categories": view.categories}
