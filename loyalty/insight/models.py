"""What we know of each member's buying habits, rebuilt nightly and kept current after checkout.

Rows exist for members with at least one basket up to ``as_of``.  These tables are derived from
the baskets (whose own foreign keys hold) and rebuilt nightly, so they carry no foreign keys:
PostgreSQL checks a foreign key row by row, and the rebuild's 6 million rows paid 90 s for
checks that could not fail (members and categories are never deleted; docs/INSIGHT.md).

Money in minor units of the baskets' currency (a programme trades in one currency); model
outputs are floats (they are estimates, not money owed).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.db import Base, utcnow


class MemberInsight(Base):
    __tablename__ = "member_insight"

    member_id: Mapped[int] = mapped_column(primary_key=True)  # a member's id (see above)
    as_of: Mapped[dt.date] = mapped_column(Date)
    first_purchase_at: Mapped[dt.datetime]
    last_purchase_at: Mapped[dt.datetime]
    recency_days: Mapped[int]
    frequency: Mapped[int]  # distinct baskets
    # sum of line amounts (net of line discounts)
    monetary_minor: Mapped[int] = mapped_column(BigInteger)
    average_basket_minor: Mapped[int] = mapped_column(BigInteger)  # monetary // frequency
    r: Mapped[int | None] = mapped_column(default=None)
    f: Mapped[int | None] = mapped_column(default=None)
    m: Mapped[int | None] = mapped_column(default=None)
    segment: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    p_alive: Mapped[float | None] = mapped_column(Float, default=None)
    expected_purchases_90d: Mapped[float | None] = mapped_column(Float, default=None)
    expected_value_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)


class MemberCategoryInsight(Base):
    __tablename__ = "member_category_insight"

    member_id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(primary_key=True, index=True)
    spend_minor: Mapped[int] = mapped_column(BigInteger)
    last_purchase_at: Mapped[dt.datetime]


class BtydFit(Base):
    """One fitted BG/NBD + Gamma-Gamma model; the newest is used by the rebuild."""

    __tablename__ = "btyd_fit"

    id: Mapped[int] = mapped_column(primary_key=True)
    fitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    calibration_end: Mapped[dt.date] = mapped_column(Date)
    time_unit_days: Mapped[int]
    customers: Mapped[int]
    r: Mapped[float] = mapped_column(Float)
    alpha: Mapped[float] = mapped_column(Float)
    a: Mapped[float] = mapped_column(Float)
    b: Mapped[float] = mapped_column(Float)
    log_likelihood: Mapped[float] = mapped_column(Float)
    p: Mapped[float | None] = mapped_column(Float, default=None)
    q: Mapped[float | None] = mapped_column(Float, default=None)
    v: Mapped[float | None] = mapped_column(Float, default=None)


class Affinity(Base):
    """One association rule, antecedent -> consequent (baskets holding the first also hold the
    second), for a category pair or a product pair above the last rebuild's minimum support."""

    __tablename__ = "affinity"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # category | product
    antecedent_id: Mapped[int] = mapped_column(primary_key=True)
    consequent_id: Mapped[int] = mapped_column(primary_key=True)
    baskets: Mapped[int]  # baskets holding both
    support: Mapped[float] = mapped_column(Float)  # share of all baskets holding both
    confidence: Mapped[float] = mapped_column(Float)  # share of antecedent's baskets
    lift: Mapped[float] = mapped_column(Float)  # confidence / consequent's share
