"""Double-entry points ledger.

Every change of points is a :class:`Posting` whose :class:`Entry` rows sum to zero across a
member's account and one programme account.  Entries are append-only: the database refuses
UPDATE and DELETE on them (triggers created by the migration).  Earned points form
:class:`Lot` rows that are consumed and expired first-in-first-out.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loyalty.db import Base, str_enum, utcnow


class AccountKind(enum.StrEnum):
    MEMBER = "member"
    ISSUED = "issued"  # programme: source of points earned
    REDEEMED = "redeemed"  # programme: sink of points spent
    EXPIRED = "expired"  # programme: sink of points that lapsed
    ADJUSTED = "adjusted"  # programme: counterpart of staff adjustments


class PostingKind(enum.StrEnum):
    EARN = "earn"
    REDEEM = "redeem"
    EARN_REVERSAL = "earn_reversal"  # a return takes back what the basket earned
    REDEEM_REFUND = "redeem_refund"  # a return gives back points the basket redeemed
    EXPIRE = "expire"
    ADJUST = "adjust"
    BONUS = "bonus"  # bonus-points coupons


class Account(Base):
    """A points account.  Only member accounts carry a cached ``balance``; programme accounts
    are summed on demand, so checkouts never queue on one hot programme row."""

    __tablename__ = "account"
    # One programme account of each kind: two first postings of a kind racing on a fresh
    # database would otherwise each create one (see ledger.services.programme_account_id).
    __table_args__ = (
        Index("uq_account_programme_kind", "kind", unique=True,
              postgresql_where=text("member_id IS NULL"), sqlite_where=text("member_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind, 12))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), unique=True)
    balance: Mapped[int] = mapped_column(default=0)


class Posting(Base):
    __tablename__ = "posting"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PostingKind] = mapped_column(str_enum(PostingKind, 16))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    basket_id: Mapped[int | None] = mapped_column(ForeignKey("basket.id"), index=True)
    return_id: Mapped[int | None] = mapped_column(ForeignKey("basket_return.id"), default=None)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), default=None)
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    occurred_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    entries: Mapped[list[Entry]] = relationship(back_populates="posting", order_by="Entry.id")


class Entry(Base):
    __tablename__ = "entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    posting_id: Mapped[int] = mapped_column(ForeignKey("posting.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    amount: Mapped[int]

    posting: Mapped[Posting] = relationship(back_populates="entries")


class Lot(Base):
    """Points earned together, expiring together.  ``remaining`` falls as points are spent
    (oldest lot first) or expire; it is the only mutable number in the ledger."""

    __tablename__ = "lot"
    __table_args__ = (Index("ix_lot_open", "account_id", "expires_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    posting_id: Mapped[int] = mapped_column(ForeignKey("posting.id"))
    points: Mapped[int]
    remaining: Mapped[int]
    earned_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class ReviewFlag(Base):
    """Something a person must look at: a balance driven negative by a return, a coupon
    redeemed offline that proved invalid.  Points are never silently written off."""

    __tablename__ = "review_flag"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(String(500), default="")
    posting_id: Mapped[int | None] = mapped_column(ForeignKey("posting.id"), default=None)
    basket_id: Mapped[int | None] = mapped_column(ForeignKey("basket.id"), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(default=None)
