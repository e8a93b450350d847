from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loyalty.db import Base, utcnow


class Category(Base):
    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Product(Base):
    __tablename__ = "product"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    # Shelf price; tills send their own price per line, this is for display and the demo.
    price_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    barcode: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    active: Mapped[bool] = mapped_column(default=True)
    # Indexed: tills refresh their cached catalog by change time (updated_since).
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)

    category: Mapped[Category] = relationship()


class UnknownSku(Base):
    """A SKU a till sold that the catalog does not know, per store: the sale is kept (the
    till's word is the sale's truth), and the catalog team sees what to add
    (``loyalty catalog unknown-skus``)."""

    __tablename__ = "unknown_sku"

    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Counters that only grow: 64 bits.
    lines_seen: Mapped[int] = mapped_column(BigInteger)  # sale lines that named it
    units_sold: Mapped[int] = mapped_column(BigInteger)
    first_seen_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime] = mapped_column(index=True)
