"""A member's sign-in and the one-time codes sent to them."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.db import Base, str_enum, utcnow


class MemberLogin(Base):
    """How a member signs in to the portal: by the email or phone on their member record, with
    this password (argon2id) or a one-time code.  Unusable until ``verified_at`` is set, by a
    code sent to that email or phone."""

    __tablename__ = "member_login"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    verified_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class CodePurpose(enum.StrEnum):
    VERIFY = "verify"  # prove the email or phone before the account can be used
    SIGN_IN = "sign_in"
    RESET = "reset"  # then choose a new password


class OneTimeCode(Base):
    """Six digits sent to the member; only a hash is kept.  Used once, expires in minutes, and
    a few wrong tries spend it."""

    __tablename__ = "one_time_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    purpose: Mapped[CodePurpose] = mapped_column(str_enum(CodePurpose, 10))
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime]
    failed_attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
