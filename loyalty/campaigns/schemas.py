"""Campaign schemas: a definition in, a campaign (with its reach and spend), a dry run and runs
out (docs/CAMPAIGNS.md, "API").  Shaped for the marketer's pages: the list carries status, reach
and spend against budget, so a table needs no second call."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from loyalty import schema_fields as db_fields
from loyalty.campaigns.audience import DEFAULT_PARAMETERS
from loyalty.campaigns.models import CampaignKind, CampaignStatus
from loyalty.campaigns.occasions import RECURRENCES
from loyalty.campaigns.services import (
    CHANNELS,
    MAX_HOLDOUT_PERCENT,
    MAX_SAMPLE,
    MAX_VALID_DAYS,
)
from loyalty.coupons.models import OfferKind
from loyalty.coupons.schemas import MAX_AMOUNT_MINOR
from loyalty.segments.schemas import RULE_DOC

_PARAMETERS_DOC = "the kind's settings, overriding its defaults: " + "; ".join(
    f"{kind.value}: {', '.join(f'{k}={v}' for k, v in params.items()) or 'none'}"
    for kind, params in DEFAULT_PARAMETERS.items()
) + "; any kind: max_basket_minor, max_basket_points"


class OfferSchema(Schema):
    """The coupon each treated member gets (loyalty.coupons: only the kind's own field)."""

    kind = fields.Enum(OfferKind, by_value=True, required=True)
    percent = db_fields.Integer(strict=True, validate=validate.Range(1, 100))
    amount_minor = db_fields.Integer(strict=True, validate=validate.Range(1, MAX_AMOUNT_MINOR))
    currency = db_fields.String(validate=validate.Regexp(r"^[A-Z]{3}$"), metadata={
        "description": "the campaign's currency (another is refused); may be left out"})
    category_id = db_fields.Id(strict=True)
    free_sku = db_fields.String(validate=validate.Length(1, 64))
    bonus_points = db_fields.Integer(strict=True, validate=validate.Range(1, 1_000_000))
    multiplier = db_fields.Integer(strict=True, validate=validate.Range(2, 10))
    min_spend_minor = db_fields.Integer(strict=True, validate=validate.Range(0, MAX_AMOUNT_MINOR))
    store_id = db_fields.Id(strict=True)
    exclusive = db_fields.Boolean()


class CampaignInSchema(Schema):
    """A campaign's definition.  For PATCH (a draft only) every field is optional."""

    name = db_fields.String(required=True, validate=validate.Length(1, 100))
    kind = fields.Enum(CampaignKind, by_value=True, required=True)
    segment_id = db_fields.Id(strict=True, allow_none=True, metadata={
        "description": "a saved segment whose rule is copied into the campaign"})
    audience = fields.Dict(allow_none=True, metadata={"description": RULE_DOC + "; narrows the "
                                                      "kind's own audience"})
    parameters = fields.Dict(allow_none=True, metadata={"description": _PARAMETERS_DOC})
    offer = fields.Nested(OfferSchema, required=True)
    coupon_valid_days = db_fields.Integer(strict=True, validate=validate.Range(1, MAX_VALID_DAYS))
    channel = db_fields.String(allow_none=True, validate=validate.OneOf(CHANNELS), metadata={
        "description": "null: each member's preferred channel"})
    currency = db_fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{3}$"))
    budget_minor = db_fields.Integer(strict=True, allow_none=True, minimum=0, metadata={
        "description": "the cap on what issued coupons may cost at worst; null: no cap"})
    member_limit_count = db_fields.Integer(strict=True, allow_none=True,
                                           validate=validate.Range(1, 1000))
    member_limit_days = db_fields.Integer(strict=True, allow_none=True,
                                          validate=validate.Range(1, 366))
    holdout_percent = db_fields.Integer(strict=True,
                                        validate=validate.Range(0, MAX_HOLDOUT_PERCENT))
    attribution_days = db_fields.Integer(strict=True, validate=validate.Range(1, 366))
    starts_at = db_fields.AwareDateTime(required=True)
    ends_at = db_fields.AwareDateTime(required=True)
    recurrence = db_fields.String(allow_none=True, validate=validate.OneOf(RECURRENCES))

    @validates_schema
    def end_after_start(self, data: dict[str, Any], **_: object) -> None:
        start, end = data.get("starts_at"), data.get("ends_at")
        if start is not None and end is not None and end <= start:
            raise ValidationError("ends_at must be after starts_at", "ends_at")


class CampaignUpdateSchema(CampaignInSchema):
    """PATCH: use with ``partial=True``: only the fields sent change (a draft only)."""


class CampaignListArgsSchema(Schema):
    status = fields.Enum(CampaignStatus, by_value=True, load_default=None)


class DryRunArgsSchema(Schema):
    sample = db_fields.Integer(load_default=20, strict=True, minimum=0, maximum=MAX_SAMPLE,
                               metadata={"description": "how many members to show"})


def _c(field: fields.Field, name: str) -> fields.Field:
    field.attribute = f"campaign.{name}"
    return field


class CampaignSchema(Schema):
    """Dumps a ``services.CampaignSummary``: the definition, its state, its reach and spend."""

    id = _c(fields.Integer(), "id")
    name = _c(fields.String(), "name")
    kind = fields.Function(lambda s: CampaignKind(s.campaign.kind).value)
    status = fields.Function(lambda s: CampaignStatus(s.campaign.status).value)
    segment_id = _c(fields.Integer(allow_none=True), "segment_id")
    audience = _c(fields.Raw(allow_none=True), "audience")
    parameters = _c(fields.Dict(), "parameters")
    offer = _c(fields.Dict(), "offer")
    coupon_valid_days = _c(fields.Integer(), "coupon_valid_days")
    channel = _c(fields.String(allow_none=True), "channel")
    currency = _c(fields.String(), "currency")
    budget_minor = _c(fields.Integer(allow_none=True), "budget_minor")
    spent_minor = fields.Integer(metadata={"description": "committed by issued coupons, at the "
                                           "worst-case cost of each"})
    cost_per_coupon_minor = _c(fields.Integer(), "cost_per_coupon_minor")
    member_limit_count = _c(fields.Integer(allow_none=True), "member_limit_count")
    member_limit_days = _c(fields.Integer(allow_none=True), "member_limit_days")
    holdout_percent = _c(fields.Integer(), "holdout_percent")
    attribution_days = _c(fields.Integer(), "attribution_days")
    starts_at = _c(fields.AwareDateTime(), "starts_at")
    ends_at = _c(fields.AwareDateTime(), "ends_at")
    recurrence = _c(fields.String(allow_none=True), "recurrence")
    reached = fields.Integer(metadata={"description": "coupons issued, over all runs"})
    held_out = fields.Integer(metadata={"description": "members in the holdout, over all runs"})
    runs = fields.Integer()
    created_by = _c(fields.String(), "created_by")
    created_at = _c(fields.AwareDateTime(), "created_at")
    launched_by = _c(fields.String(allow_none=True), "launched_by")
    launched_at = _c(fields.AwareDateTime(allow_none=True), "launched_at")
    frozen_at = _c(fields.AwareDateTime(allow_none=True), "frozen_at")
    cancelled_by = _c(fields.String(allow_none=True), "cancelled_by")
    cancelled_at = _c(fields.AwareDateTime(allow_none=True), "cancelled_at")


class DryRunMemberSchema(Schema):
    member_id = fields.Integer()
    name = fields.String()
    held_out = fields.Boolean()
    explanation = fields.Dict(metadata={"description": "the kind, rule and the member's values "
                                        "that matched, as a coupon would record them"})
    why = fields.String(metadata={"description": "the sentence the member would read, in their "
                                  "language"})


class DryRunSchema(Schema):
    occasion = fields.String()
    audience = fields.Integer(metadata={"description": "members selected now"})
    treated = fields.Integer()
    held_out = fields.Integer()
    cost_per_coupon_minor = fields.Integer()
    worst_case_minor = fields.Integer(metadata={"description": "treated x cost per coupon"})
    budget_minor = fields.Integer(allow_none=True)
    budget_suffices = fields.Boolean()
    coupons_within_budget = fields.Integer(allow_none=True)
    offer = fields.Dict()
    currency = fields.String()
    sample = fields.List(fields.Nested(DryRunMemberSchema))


class RunSchema(Schema):
    id = fields.Integer(attribute="run.id")
    occasion = fields.String(attribute="run.occasion")
    status = fields.Function(lambda s: str(s.run.status.value))
    planned_at = fields.AwareDateTime(attribute="run.planned_at")
    finished_at = fields.AwareDateTime(attribute="run.finished_at", allow_none=True)
    chunks = fields.Integer(attribute="run.chunks")
    targets = fields.Integer(attribute="run.targets")
    holdout = fields.Integer(attribute="run.holdout")
    outcomes = fields.Dict(keys=fields.String(), values=fields.Integer())
