from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.db import Base, str_enum, utcnow


class MessageChannel(enum.StrEnum):
    WALLET = "wallet"  # the coupon shows in the member's wallet (API, portal): nothing to push
    EMAIL = "email"
    SMS = "sms"


class MessageStatus(enum.StrEnum):
    QUEUED = "queued"  # recorded, waiting for the worker
    DEFERRED = "deferred"  # waits until ``not_before``: quiet hours, or a retry's backoff
    SENDING = "sending"  # claimed by a worker that is handing it to the provider
    SENT = "sent"
    FAILED = "failed"  # permanently refused, or out of attempts
    SUPPRESSED = "suppressed"  # not sent on purpose: no consent, no address
    UNKNOWN = "unknown"  # a worker died mid-send: it may have gone out; review, never resend


class Message(Base):
    """One message to one member for one occasion.  ``idempotency_key`` (template and
    occasion) is unique per member, so a campaign run twice never messages anyone twice."""

    __tablename__ = "message"
    __table_args__ = (UniqueConstraint("member_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    channel: Mapped[MessageChannel] = mapped_column(str_enum(MessageChannel, 10))
    template: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(10))
    # Ids and small scalars for the template (a coupon code, an expiry date); never contact data.
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"), default=None)
    status: Mapped[MessageStatus] = mapped_column(
        str_enum(MessageStatus, 12), default=MessageStatus.QUEUED, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[dt.datetime | None] = mapped_column(default=None)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    provider_id: Mapped[str | None] = mapped_column(String(200), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(default=None)
