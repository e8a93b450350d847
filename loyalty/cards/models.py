from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loyalty.db import Base, str_enum, utcnow
from loyalty.members.models import Member


class CardStatus(enum.StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"
    REPLACED = "replaced"


class Card(Base):
    __tablename__ = "card"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    status: Mapped[CardStatus] = mapped_column(
        str_enum(CardStatus, 10), default=CardStatus.ACTIVE
    )
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("card.id"), default=None)
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status_changed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    status_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    # A plastic card handed out in store carries a code printed beside its number; a member
    # claims the card on the portal with both (the number alone is not a secret).  Only a hash
    # is kept; None for digital cards and cards enrolled at the desk.
    claim_code_hash: Mapped[str | None] = mapped_column(String(64), default=None)

    member: Mapped[Member] = relationship()
