"""The campaign's tables (docs/CAMPAIGNS.md).

A **campaign** is a definition: who (an audience rule, or its kind's default), what (an offer),
when (dates, recurrence), at what cost (budget, per-member contact limits) and how it is proven
(the holdout share and the attribution window).  It is frozen once it runs.

A **run** is one occasion of a campaign (``"launch"`` for a one-off, ``"2027-03-14"`` for a daily
automation, ``"birthday:2027"`` ...).  Planning a run writes its **targets**: every member the
audience selected, each either held out or to be treated, split into chunks that workers issue
independently.  The targets are the frozen record of who was in which group; the results compare
the two groups' baskets.

Coupons issued by a campaign carry ``campaign_id`` and ``occasion``; a unique constraint on
(campaign, member, occasion) makes issuing idempotent whatever a worker does.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.db import Base, str_enum, utcnow


class CampaignKind(enum.StrEnum):
    TARGETED = "targeted"  # a segment rule and an offer
    WIN_BACK = "win_back"  # the lapsed
    RETENTION = "retention"  # high churn risk
    CROSS_SELL = "cross_sell"  # buys A, never B, where A -> B is a strong affinity
    UP_SELL = "up_sell"  # a spend threshold above the member's usual basket
    BIRTHDAY = "birthday"  # automation, daily
    ANNIVERSARY = "anniversary"  # automation, daily: one year since joining
    WELCOME = "welcome"  # automation, daily: newly joined


AUTOMATIONS = frozenset({CampaignKind.BIRTHDAY, CampaignKind.ANNIVERSARY, CampaignKind.WELCOME})


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"  # editable; nothing issued
    SCHEDULED = "scheduled"  # launched, waiting for its start
    RUNNING = "running"  # issuing (one-off) or running each occasion (recurring, automation)
    ENDED = "ended"  # past its end; results stay
    CANCELLED = "cancelled"  # stopped by a person; issued coupons stay valid


class RunStatus(enum.StrEnum):
    PLANNED = "planned"  # targets written, chunks not all issued
    DONE = "done"  # every chunk issued


class TargetOutcome(enum.StrEnum):
    PENDING = "pending"  # treatment, chunk not issued yet
    ISSUED = "issued"
    HOLDOUT = "holdout"  # the control group: receives nothing
    OVER_BUDGET = "over_budget"  # treatment, but the budget ran out before this member
    OVER_LIMIT = "over_limit"  # treatment, but the member had their fill of offers


class Campaign(Base):
    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[CampaignKind] = mapped_column(str_enum(CampaignKind, 16))
    status: Mapped[CampaignStatus] = mapped_column(
        str_enum(CampaignStatus, 10), default=CampaignStatus.DRAFT, index=True
    )
    # The audience: a segment rule (docs/SEGMENTS.md), copied from a saved segment when one is
    # named (so editing the segment later does not change a running campaign), or None for the
    # kind's own audience.  ``parameters`` holds the kind's settings (lapsed days, threshold...).
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segment.id"), default=None)
    audience: Mapped[Any | None] = mapped_column(JSON, default=None)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The offer: the fields of loyalty.coupons.services.Offer, as JSON.
    offer: Mapped[dict[str, Any]] = mapped_column(JSON)
    coupon_valid_days: Mapped[int] = mapped_column(default=30)
    channel: Mapped[str | None] = mapped_column(String(10), default=None)  # None: member's own
    currency: Mapped[str] = mapped_column(String(3))  # of the budget and of any money offer
    budget_minor: Mapped[int | None] = mapped_column(default=None)  # None: no cap
    # The worst a single coupon can cost (set when the campaign is launched), and what issued
    # coupons have committed of the budget at that rate: issuing stops before the cap is crossed.
    cost_per_coupon_minor: Mapped[int] = mapped_column(default=0)
    committed_minor: Mapped[int] = mapped_column(default=0)
    # Contact policy across all campaigns: at most ``member_limit_count`` campaign coupons in any
    # ``member_limit_days`` days.  None: no limit.
    member_limit_count: Mapped[int | None] = mapped_column(default=None)
    member_limit_days: Mapped[int | None] = mapped_column(default=None)
    holdout_percent: Mapped[int] = mapped_column(default=10)
    attribution_days: Mapped[int] = mapped_column(default=14)
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    recurrence: Mapped[str | None] = mapped_column(String(10), default=None)  # daily, weekly
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    launched_by: Mapped[str | None] = mapped_column(String(100), default=None)
    launched_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    frozen_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # first run planned
    cancelled_by: Mapped[str | None] = mapped_column(String(100), default=None)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class CampaignRun(Base):
    __tablename__ = "campaign_run"
    __table_args__ = (UniqueConstraint("campaign_id", "occasion"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    occasion: Mapped[str] = mapped_column(String(40))
    status: Mapped[RunStatus] = mapped_column(str_enum(RunStatus, 10), default=RunStatus.PLANNED)
    planned_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    chunks: Mapped[int] = mapped_column(default=0)
    targets: Mapped[int] = mapped_column(default=0)
    holdout: Mapped[int] = mapped_column(default=0)


class CampaignTarget(Base):
    __tablename__ = "campaign_target"
    __table_args__ = (
        UniqueConstraint("run_id", "member_id"),
        Index("ix_campaign_target_run_chunk", "run_id", "chunk"),
        Index("ix_campaign_target_member", "member_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("campaign_run.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    holdout: Mapped[bool]
    chunk: Mapped[int]
    outcome: Mapped[TargetOutcome] = mapped_column(str_enum(TargetOutcome, 12))
    # Why this member was chosen: the rule and the member's values that matched, as served to
    # the marketer and (translated) to the member.  Copied onto the coupon.
    explanation: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
