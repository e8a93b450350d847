"""What the API shows of a campaign's results and fairness: plain numbers in minor units and
shares in 0-1, shaped for the marketer's charts (docs/CAMPAIGNS.md, "Results")."""

from __future__ import annotations

from marshmallow import Schema, fields

from loyalty import schema_fields as db_fields
from loyalty.campaigns.fairness import MIN_MEMBERS

MINOR = "minor units of the campaign's currency"


class ResultsArgsSchema(Schema):
    store = db_fields.Id(metadata={
        "description": "only baskets and redemptions in this store (a store manager always "
                       "sees their own store's)"})


class FairnessArgsSchema(Schema):
    min_members = db_fields.Integer(load_default=MIN_MEMBERS, minimum=1, metadata={
        "description": "smallest group that can be flagged"})


class IntervalSchema(Schema):
    low = fields.Float()
    high = fields.Float()


class GroupSchema(Schema):
    members = fields.Integer(metadata={"description": "targets (member x run) in the group"})
    visits = fields.Integer(metadata={"description": "baskets in the attribution window"})
    spend_minor = fields.Integer(metadata={"description": f"spend net of returns, {MINOR}"})
    visits_per_member = fields.Float(allow_none=True)
    spend_per_member_minor = fields.Float(allow_none=True)
    spend_sd_minor = fields.Float(allow_none=True,
                                  metadata={"description": "standard deviation per member"})


class RedemptionsSchema(Schema):
    issued = fields.Integer()
    redeemed = fields.Integer()
    rate = fields.Float(allow_none=True, metadata={"description": "redeemed / issued"})


class CostSchema(Schema):
    discount_minor = fields.Integer(metadata={"description": "coupon discounts given"})
    bonus_points = fields.Integer()
    bonus_points_minor = fields.Integer(metadata={"description": "bonus points at point value"})
    total_minor = fields.Integer()


class DayRedemptionsSchema(Schema):
    date = fields.Date()
    redemptions = fields.Integer()
    discount_minor = fields.Integer()


class DaySpendSchema(Schema):
    day = fields.Integer(metadata={"description": "days since the run was planned (0: first)"})
    treatment_minor = fields.Float(allow_none=True,
                                   metadata={"description": "cumulative spend per member"})
    holdout_minor = fields.Float(allow_none=True)


class ResultsSchema(Schema):
    campaign_id = fields.Integer()
    name = fields.String()
    status = fields.String()
    currency = fields.String()
    store_id = fields.Integer(allow_none=True)
    as_of = fields.AwareDateTime()
    attribution_days = fields.Integer()
    runs = fields.Integer()
    window_start = fields.AwareDateTime(allow_none=True)
    window_end = fields.AwareDateTime(allow_none=True)
    window_complete = fields.Boolean()
    treatment = fields.Nested(GroupSchema)
    holdout = fields.Nested(GroupSchema)
    redemptions = fields.Nested(RedemptionsSchema)
    cost = fields.Nested(CostSchema)
    uplift_per_member_minor = fields.Float(allow_none=True)
    uplift_interval = fields.Nested(IntervalSchema, allow_none=True)
    incremental_revenue_minor = fields.Float(allow_none=True)
    incremental_revenue_interval = fields.Nested(IntervalSchema, allow_none=True, metadata={
        "description": "95% confidence interval (Welch)"})
    p_value = fields.Float(allow_none=True)
    roi = fields.Float(allow_none=True, metadata={
        "description": "(incremental revenue - cost) / cost; null when there is no cost or "
                       "not enough data"})
    roi_interval = fields.Nested(IntervalSchema, allow_none=True)
    enough_data = fields.Boolean()
    notes = fields.List(fields.String())
    redemptions_by_day = fields.List(fields.Nested(DayRedemptionsSchema))
    cumulative_spend_by_day = fields.List(fields.Nested(DaySpendSchema))


class FairnessGroupSchema(Schema):
    dimension = fields.String(metadata={"description": "segment, tier, gender or age_band"})
    group = fields.String()
    members = fields.Integer()
    reached = fields.Integer()
    reach = fields.Float(allow_none=True)
    coupons = fields.Integer()
    mean_offer_value_minor = fields.Float(allow_none=True)
    reach_ratio = fields.Float(allow_none=True)
    value_ratio = fields.Float(allow_none=True)
    flagged = fields.Boolean()
    reasons = fields.List(fields.String())


class FairnessSchema(Schema):
    campaign_id = fields.Integer(allow_none=True)
    as_of = fields.AwareDateTime()
    eligible = fields.Integer()
    reached = fields.Integer()
    reach = fields.Float(allow_none=True)
    coupons = fields.Integer()
    mean_offer_value_minor = fields.Float(allow_none=True)
    min_members = fields.Integer()
    ratio_low = fields.Float()
    ratio_high = fields.Float()
    groups = fields.List(fields.Nested(FairnessGroupSchema))
