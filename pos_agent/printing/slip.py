"""What a slip says, and its layout as a list of blocks, independent of how it is printed.

The layout is pure: :func:`layout_slip` turns a :class:`Slip` into :data:`Block` values (rows of
text, rules, QR codes, barcodes); ``render`` sends them to an ESC/POS printer or draws them into a
preview image.  Digits are Western (0-9) in every language: unambiguous on a slip, readable by
everyone in our markets, and the same on the printer's own font and in the raster.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from loyalty.cards.numbers import looks_like_payment_card
from loyalty.coupons.codes import display_code
from loyalty.money import format_money

from .labels import Language, label

MASK = "•"
_DIGITS = re.compile(r"\d")


def mask_card(number: str) -> str:
    """A loyalty card number for a slip: first 4 and last 4 digits, ``9871 •••• •••• 1238``.

    Refuses (ValueError) a payment card number and anything too short to hide a digit.  The
    error never repeats the number.
    """
    digits = re.sub(r"[\s-]", "", number)
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError("a card number to mask has only digits")
    if looks_like_payment_card(digits):
        raise ValueError("payment card: not a loyalty card, never printed")
    if len(digits) < 9:
        raise ValueError("a card number shorter than 9 digits cannot be masked")
    hidden = MASK * (len(digits) - 8)
    groups = [hidden[i : i + 4] for i in range(0, len(hidden), 4)]
    return " ".join([digits[:4], *groups, digits[-4:]])


@dataclass(frozen=True)
class Store:
    name: str
    timezone: str = "UTC"  # IANA name: the slip shows the store's local time
    address: str | None = None


@dataclass(frozen=True)
class SlipLine:
    name: str
    quantity: int
    amount_minor: int  # what the line costs after its own discount, in minor units


@dataclass(frozen=True)
class SlipCoupon:
    """A coupon issued with this sale: its code (canonical) and, if signed, its QR payload."""

    code: str
    signed_payload: str | None = None


@dataclass(frozen=True)
class Slip:
    """One sale's slip.  Invariants: ``at`` is aware; ``masked_card`` shows at most 8 digits."""

    store: Store
    till: str
    at: dt.datetime
    currency: str
    lines: Sequence[SlipLine]
    subtotal_minor: int
    payable_minor: int
    coupon_discount_minor: int = 0
    redeemed_value_minor: int = 0
    masked_card: str | None = None
    points_earned: int = 0
    points_redeemed: int = 0
    balance: int | None = None  # None when the till does not know it (sold offline)
    coupons: Sequence[SlipCoupon] = field(default_factory=tuple)
    language: Language = "en"
    offline: bool = False

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("a slip's time must be timezone-aware")
        if self.masked_card is not None and len(_DIGITS.findall(self.masked_card)) > 8:
            raise ValueError("masked_card shows too many digits: pass it through mask_card")
        try:  # an unknown zone fails here, not half-way through a print
            ZoneInfo(self.store.timezone)
        except (ValueError, ZoneInfoNotFoundError):
            raise ValueError(f"unknown time zone {self.store.timezone!r} for the store") from None


# --- layout ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A line of text: ``start`` on the reading side (left in English, right in Arabic),
    ``end`` on the other side; ``center`` centres ``start`` alone."""

    start: str
    end: str = ""
    bold: bool = False
    big: bool = False
    center: bool = False


@dataclass(frozen=True)
class Rule:
    """A horizontal separator."""


@dataclass(frozen=True)
class QrCode:
    payload: str


@dataclass(frozen=True)
class Barcode128:
    code: str


Block = Row | Rule | QrCode | Barcode128


def layout_slip(slip: Slip) -> list[Block]:
    """The slip as blocks, top to bottom.  Never contains a full card number."""
    lang, money = slip.language, _money(slip.currency)
    local = slip.at.astimezone(ZoneInfo(slip.store.timezone))
    blocks: list[Block] = [Row(slip.store.name, bold=True, big=True, center=True)]
    if slip.store.address:
        blocks.append(Row(slip.store.address, center=True))
    blocks += [
        Row(label("till", lang), slip.till),
        Row(label("date", lang), local.strftime("%Y-%m-%d %H:%M")),
        Rule(),
    ]
    for line in slip.lines:
        text = label("line", lang, qty=line.quantity, name=line.name)
        blocks.append(Row(text, money(line.amount_minor)))
    blocks += [Rule(), Row(label("subtotal", lang), money(slip.subtotal_minor))]
    if slip.coupon_discount_minor:
        blocks.append(Row(label("coupon_discount", lang), money(-slip.coupon_discount_minor)))
    if slip.redeemed_value_minor:
        blocks.append(Row(label("points_value", lang), money(-slip.redeemed_value_minor)))
    blocks += [Row(label("total", lang), money(slip.payable_minor), bold=True), Rule()]
    if slip.masked_card:
        blocks += _points(slip)
    if slip.coupons:
        blocks += [Rule(), Row(label("coupons_issued", lang), bold=True, center=True)]
        for coupon in slip.coupons:
            blocks.append(Row(display_code(coupon.code), bold=True, center=True))
            signed = coupon.signed_payload
            blocks.append(QrCode(signed) if signed else Barcode128(coupon.code))
    blocks += [Rule(), Row(label("thank_you", lang), center=True)]
    return blocks


def _points(slip: Slip) -> list[Block]:
    lang = slip.language
    rows: list[Block] = [Row(label("card", lang), slip.masked_card or "")]
    rows.append(Row(label("points_earned", lang), f"{slip.points_earned:,}"))
    if slip.points_redeemed:
        rows.append(Row(label("points_redeemed", lang), f"{slip.points_redeemed:,}"))
    if slip.balance is not None:
        rows.append(Row(label("balance", lang), f"{slip.balance:,}", bold=True))
    if slip.offline:
        rows.append(Row(label("offline", lang)))
    return rows


def _money(currency: str) -> Callable[[int], str]:
    return lambda amount: format_money(amount, currency)
