from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loyalty.db import Base, utcnow


class Basket(Base):
    """A completed sale.  Amounts are minor units of ``currency`` (the store's)."""

    __tablename__ = "basket"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"), index=True)
    till_id: Mapped[int | None] = mapped_column(ForeignKey("till.id"), default=None)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("card.id"), default=None)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_minor: Mapped[int]  # lines after line discounts
    coupon_discount_minor: Mapped[int] = mapped_column(default=0)
    points_redeemed: Mapped[int] = mapped_column(default=0)
    redeemed_value_minor: Mapped[int] = mapped_column(default=0)
    payable_minor: Mapped[int]  # what the customer paid
    points_earned: Mapped[int] = mapped_column(default=0)
    bonus_points: Mapped[int] = mapped_column(default=0)  # from bonus-points coupons
    occurred_at: Mapped[dt.datetime] = mapped_column(index=True)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    external_ref: Mapped[str | None] = mapped_column(String(64), default=None)
    # The basket id in an imported history file (``loyalty import baskets``): unique, so an
    # import run twice, or run again after it was killed, never stores a basket twice.
    import_ref: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)

    lines: Mapped[list[BasketLine]] = relationship(
        back_populates="basket", order_by="BasketLine.line_no"
    )


class BasketLine(Base):
    __tablename__ = "basket_line"
    __table_args__ = (UniqueConstraint("basket_id", "line_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    basket_id: Mapped[int] = mapped_column(ForeignKey("basket.id"))
    line_no: Mapped[int]
    sku: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"), default=None)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), default=None)
    quantity: Mapped[int]
    unit_price_minor: Mapped[int]
    discount_minor: Mapped[int] = mapped_column(default=0)  # line discount from the till
    coupon_discount_minor: Mapped[int] = mapped_column(default=0)
    net_minor: Mapped[int]  # quantity * unit price - discounts
    points_earned: Mapped[int] = mapped_column(default=0)
    points_redeemed: Mapped[int] = mapped_column(default=0)
    returned_quantity: Mapped[int] = mapped_column(default=0)

    basket: Mapped[Basket] = relationship(back_populates="lines")


class BasketReturn(Base):
    __tablename__ = "basket_return"

    id: Mapped[int] = mapped_column(primary_key=True)
    basket_id: Mapped[int] = mapped_column(ForeignKey("basket.id"), index=True)
    till_id: Mapped[int | None] = mapped_column(ForeignKey("till.id"), default=None)
    refund_minor: Mapped[int]
    points_reversed: Mapped[int]
    points_refunded: Mapped[int]
    occurred_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    lines: Mapped[list[ReturnLine]] = relationship(order_by="ReturnLine.id")


class ReturnLine(Base):
    __tablename__ = "return_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("basket_return.id"), index=True)
    basket_line_id: Mapped[int] = mapped_column(ForeignKey("basket_line.id"))
    quantity: Mapped[int]
