from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.db import Base, str_enum, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    STORE_MANAGER = "store_manager"
    CASHIER = "cashier"
    MARKETER = "marketer"


class StaffUser(Base):
    """A person who signs in.  Store managers and cashiers are bound to one store."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[Role] = mapped_column(str_enum(Role, 20))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"), default=None)
    password_hash: Mapped[str] = mapped_column(String(255))
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class StaffSession(Base):
    """One signed-in device of a staff user: its own bearer token, its own expiry.

    Signing in opens one more; signing out ends only the one used.  The long-lived API token
    of :class:`StaffUser` (``loyalty staff token``, the demo's printed tokens) is separate and
    untouched by either.
    """

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None] = mapped_column(default=None)
