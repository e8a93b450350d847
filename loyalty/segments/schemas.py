"""Segment schemas: a rule in, a preview or a saved segment out (docs/SEGMENTS.md)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from loyalty import schema_fields as db_fields
from loyalty.segments.services import MAX_SAMPLE

RULE_DOC = ("a segment rule: {\"and\": [...]}, {\"or\": [...]}, {\"not\": {...}} or a leaf such as "
            "{\"field\": \"recency_days\", \"op\": \"<=\", \"value\": 30} (docs/SEGMENTS.md); "
            "a bad rule is refused with the JSON path of the offending part")


def _rule() -> fields.Dict:
    return fields.Dict(required=True, metadata={"description": RULE_DOC})


def _sample(*, strict: bool = True) -> db_fields.Integer:
    """``strict`` in a JSON body (no "3" for 3); a query string holds only text."""
    return db_fields.Integer(load_default=20, strict=strict, minimum=0, maximum=MAX_SAMPLE,
                             metadata={"description": "how many members to list"})


class PreviewInSchema(Schema):
    rule = _rule()
    sample = _sample()


class SampleArgsSchema(Schema):
    sample = _sample(strict=False)


class SegmentInSchema(Schema):
    name = db_fields.String(required=True, validate=validate.Length(1, 100))
    rule = _rule()


class MemberRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class PreviewSchema(Schema):
    count = fields.Integer(metadata={"description": "members the rule selects now"})
    sample = fields.List(fields.Nested(MemberRefSchema),
                         metadata={"description": "the first members by id"})


class SegmentSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    rule = fields.Dict()
    created_by = fields.String()
    created_at = fields.AwareDateTime()
