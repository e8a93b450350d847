from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.db import Base, str_enum, utcnow


class RuleKind(enum.StrEnum):
    BASE = "base"  # points per currency unit, the programme's base rate
    CATEGORY = "category"  # multiplier on lines of one category
    PRODUCT = "product"  # multiplier on lines of one SKU
    STORE = "store"  # multiplier on whole baskets in one store
    EXCLUSION = "exclusion"  # lines of a category or SKU earn nothing


class EarningRule(Base):
    """One earning rule, in force from ``valid_from`` until ``valid_to`` (exclusive).

    Rules are versioned by their validity windows rather than edited, so an offline checkout
    that arrives late earns under the rules that were in force when it happened.
    """

    __tablename__ = "earning_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[RuleKind] = mapped_column(str_enum(RuleKind, 20))
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    # BASE: points earned per one major currency unit, as a fraction numerator/denominator.
    points_per_unit_num: Mapped[int] = mapped_column(default=1)
    points_per_unit_den: Mapped[int] = mapped_column(default=1)
    # BASE: baskets below this net spend earn nothing.
    min_spend_minor: Mapped[int] = mapped_column(default=0)
    multiplier_permille: Mapped[int] = mapped_column(default=1000)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), default=None)
    sku: Mapped[str | None] = mapped_column(String(64), default=None)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"), default=None)
    valid_from: Mapped[dt.datetime] = mapped_column(default=utcnow)
    valid_to: Mapped[dt.datetime | None] = mapped_column(default=None)
