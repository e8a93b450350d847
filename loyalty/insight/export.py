"""One row per member of what the insight tables hold, for ``loyalty insight export``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import String, cast, func, literal, select
from sqlalchemy.orm import Session

from loyalty.insight.models import MemberInsight
from loyalty.members.models import Member

HEADER = ("member_ref", "recency_days", "frequency", "monetary_minor", "r", "f", "m", "segment",
          "p_alive", "expected_purchases_90d", "expected_value_minor")

# The member's reference in files: the retailer's own (``loyalty import members``); a member
# enrolled here without one is named by our id, prefixed so it cannot pass for a reference.
MEMBER_REF = func.coalesce(Member.external_ref, literal("id:") + cast(Member.id, String))

_mi = MemberInsight


def insight_rows(session: Session) -> Iterator[tuple[Any, ...]]:
    """Every member, in id order; a member without purchases has empty insight columns."""
    stmt = (
        select(MEMBER_REF, _mi.recency_days, _mi.frequency, _mi.monetary_minor, _mi.r, _mi.f,
               _mi.m, _mi.segment, _mi.p_alive, _mi.expected_purchases_90d,
               _mi.expected_value_minor)
        .outerjoin(_mi, _mi.member_id == Member.id)
        .order_by(Member.id)
        .execution_options(yield_per=5000)
    )
    for row in session.execute(stmt):
        yield tuple(_cell(value) for value in row)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6f}"
    return value
