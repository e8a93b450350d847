from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loyalty.db import Base, str_enum, utcnow


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"


class Member(Base):
    __tablename__ = "member"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # The retailer's own customer id: how imports and exports name the member.
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True, default=None)  # E.164
    email: Mapped[str | None] = mapped_column(String(254), unique=True, default=None)
    birth_date: Mapped[dt.date | None] = mapped_column(default=None)
    gender: Mapped[str | None] = mapped_column(String(20), default=None)
    language: Mapped[str] = mapped_column(String(10), default="en")
    preferred_channel: Mapped[Channel] = mapped_column(
        str_enum(Channel, 10), default=Channel.SMS
    )
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("tier.id"), default=None)
    tier_reviewed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    consents: Mapped[list[ConsentRecord]] = relationship(
        order_by="ConsentRecord.id", back_populates="member"
    )


class ConsentRecord(Base):
    """One decision about marketing on one channel.  Never updated: the newest row wins."""

    __tablename__ = "consent_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 10))
    granted: Mapped[bool]
    text_version: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(32), default="staff")

    member: Mapped[Member] = relationship(back_populates="consents")


class MemberNote(Base):
    """The staff notes timeline on a member."""

    __tablename__ = "member_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), default=None)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
