"""Campaigns and members in bulk, straight through the models (the lifecycle's services are
another part's): what the issuing tests and the benchmark stand on."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, insert, select
from sqlalchemy.orm import Session

from loyalty.campaigns.models import Campaign, CampaignKind, CampaignStatus
from loyalty.db import utcnow
from loyalty.members.models import Member

PERCENT_OFF = {"kind": "percent_off", "percent": 10}
RULE = {"field": "recency_days", "op": ">", "value": 60}


def make_campaign(session: Session, name: str = "Win them back", **fields: Any) -> Campaign:
    now = utcnow()
    values: dict[str, Any] = {
        "name": name, "kind": CampaignKind.TARGETED, "status": CampaignStatus.RUNNING,
        "audience": RULE, "offer": PERCENT_OFF, "currency": "AED",
        "starts_at": now - dt.timedelta(days=1), "ends_at": now + dt.timedelta(days=30),
        "created_by": "marketer", "holdout_percent": 10,
    }
    campaign = Campaign(**{**values, **fields})
    session.add(campaign)
    session.flush()
    return campaign


def add_members(session: Session, count: int, **fields: Any) -> list[int]:
    """``count`` members in one INSERT; their ids, in order."""
    now = utcnow()
    first = (session.scalar(select(Member.id).order_by(Member.id.desc()).limit(1)) or 0) + 1
    rows = [{"name": f"Member {first + i}", "language": "en", "preferred_channel": "sms",
             "created_at": now, **fields} for i in range(count)]
    session.execute(insert(Member), rows)
    return list(session.scalars(select(Member.id).where(Member.id >= first).order_by(Member.id)))


def audience_of(member_ids: list[int] | None = None) -> Select[Any]:
    """An audience select as the lifecycle's ``audience_for`` gives one: ``member_id`` first,
    then the member's values that matched, labelled."""
    stmt = select(Member.id.label("member_id"), Member.language.label("language"),
                  Member.birth_date.label("birth_date"))
    if member_ids is not None:
        stmt = stmt.where(Member.id.in_(member_ids))
    return stmt
