from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.db import Base


class Tier(Base):
    """A tier.  ``min_spend_minor`` is trailing-12-month net spend in the programme currency."""

    __tablename__ = "tier"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    rank: Mapped[int] = mapped_column(unique=True)
    min_spend_minor: Mapped[int]
    # Points multiplier in per-mille: 1000 = x1, 1500 = x1.5.
    multiplier_permille: Mapped[int] = mapped_column(default=1000)
