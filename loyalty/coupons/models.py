from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.db import Base, str_enum, utcnow


class OfferKind(enum.StrEnum):
    PERCENT_OFF = "percent_off"
    AMOUNT_OFF = "amount_off"
    FREE_ITEM = "free_item"
    BONUS_POINTS = "bonus_points"
    POINTS_MULTIPLIER = "points_multiplier"


class CouponStatus(enum.StrEnum):
    ISSUED = "issued"
    REDEEMED = "redeemed"
    VOID = "void"


class Coupon(Base):
    """A single-use coupon issued to one member.

    Scope: the whole basket, or only lines of ``category_id`` when set.  A coupon is used by a
    conditional UPDATE (``status = 'issued'`` to ``'redeemed'``), so of many concurrent
    commits exactly one wins, on SQLite and PostgreSQL alike.
    """

    __tablename__ = "coupon"
    # One coupon per campaign, member and occasion: issuing is idempotent whatever a worker
    # does (docs/CAMPAIGNS.md).  Coupons issued by hand have no campaign, and NULLs never clash.
    __table_args__ = (UniqueConstraint("campaign_id", "member_id", "occasion"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign.id"), default=None, index=True
    )
    occasion: Mapped[str | None] = mapped_column(String(40), default=None)
    # Why the member got it: the campaign's rule and the member's values that matched.
    explanation: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    kind: Mapped[OfferKind] = mapped_column(str_enum(OfferKind, 24))
    percent: Mapped[int | None] = mapped_column(default=None)
    amount_minor: Mapped[int | None] = mapped_column(default=None)
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), default=None)
    free_sku: Mapped[str | None] = mapped_column(String(64), default=None)
    bonus_points: Mapped[int | None] = mapped_column(default=None)
    # points_multiplier: the lines' earned points x this (2..10), the extra as bonus points
    multiplier: Mapped[int | None] = mapped_column(default=None)
    min_spend_minor: Mapped[int] = mapped_column(default=0)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"), default=None)
    exclusive: Mapped[bool] = mapped_column(default=False)
    valid_from: Mapped[dt.datetime]
    valid_to: Mapped[dt.datetime]
    status: Mapped[CouponStatus] = mapped_column(
        str_enum(CouponStatus, 10), default=CouponStatus.ISSUED
    )
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    issued_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    redeemed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    redeemed_basket_id: Mapped[int | None] = mapped_column(ForeignKey("basket.id"), default=None)
