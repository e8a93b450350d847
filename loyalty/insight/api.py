"""A member's buying habits for the back office (docs/INSIGHT.md)."""

from __future__ import annotations

from flask_smorest import Blueprint

from loyalty.http import db_session
from loyalty.insight import schemas, services

URL_PREFIX = ""
blp = Blueprint("insight", __name__, description="Member insight: RFM, churn, value, habits")


@blp.route("/members/<int:member_id>/insight", methods=["GET"])
@blp.response(200, schemas.MemberInsightSchema)
def member_insight(member_id: int):  # type: ignore[no-untyped-def]
    """Recency, frequency, monetary, RFM scores and segment, churn and 90-day value, and spend
    per category.  Fields are null before the member's first purchase is counted."""
    return services.member_insight(db_session(), member_id)
