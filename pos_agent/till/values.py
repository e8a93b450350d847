"""What a till session holds and hands out: its steps, refusals, member, lines, coupons,
quote, sale and view, all immutable, and how they are read from the back office's answers."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any


class Step(enum.StrEnum):
    IDLE = "idle"
    MEMBER = "member"  # a member, no lines yet
    BASKET = "basket"  # lines, maybe a member; not quoted (or the quote is stale)
    QUOTED = "quoted"  # priced: the redemption may be chosen and the sale committed


# --- errors ----------------------------------------------------------------------------------


class TillError(Exception):
    """A step the session refuses; nothing changed.  ``code`` is stable, ``status`` is HTTP."""

    code = "till_error"
    status = 409

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status


class IllegalStep(TillError):
    code = "illegal_step"
    status = 409


class InvalidInput(TillError):
    code = "invalid_input"
    status = 422


class NotFound(TillError):
    code = "not_found"
    status = 404


class BackOfficeRefused(TillError):
    """The back office said no (unknown card, blocked card, bad coupon...): its words."""

    status = 422


# --- what the session holds --------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """Who is buying.  ``known`` is False for a card identified offline and not in the cache:
    the sale still goes through, the back office resolves the card when it replays."""

    card_number: str | None
    member_id: int | None
    name: str | None = None
    tier: str | None = None
    balance: int | None = None
    language: str = "en"
    coupons: tuple[dict[str, Any], ...] = ()
    fetched_at: dt.datetime | None = None  # when the back office said so
    via: str = "card"
    known: bool = True
    from_cache: bool = False

    @property
    def masked_card(self) -> str:
        if not self.card_number:
            return ""
        return "*" * max(0, len(self.card_number) - 4) + self.card_number[-4:]

    def __repr__(self) -> str:
        return f"Member(id={self.member_id}, card={self.masked_card!r}, known={self.known})"


@dataclass(frozen=True)
class Line:
    sku: str
    name: str
    quantity: int
    unit_price_minor: int

    @property
    def total_minor(self) -> int:
        return self.quantity * self.unit_price_minor


@dataclass(frozen=True)
class AppliedCoupon:
    code: str
    payload: str | None = None  # the signed QR text, when scanned (checked offline)
    offer: dict[str, Any] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class Quote:
    subtotal_minor: int
    coupon_discount_minor: int
    payable_minor: int
    max_redeemable_points: int
    point_value_minor: int
    points_earned: int | None  # None: unknown offline
    balance: int | None
    estimated: bool  # True: a local estimate made offline, not the back office's price


@dataclass(frozen=True)
class Sale:
    """A committed sale, as the cashier and the slip see it."""

    key: str
    status: str  # "accepted" | "queued offline" | "refused"
    at: dt.datetime
    currency: str
    member: Member
    lines: tuple[Line, ...]
    coupons: tuple[AppliedCoupon, ...]
    redeem_points: int
    subtotal_minor: int
    coupon_discount_minor: int
    redeemed_value_minor: int
    payable_minor: int
    points_earned: int | None  # None until the back office has priced it (sold offline)
    balance_after: int | None
    receipt: dict[str, Any] | None = None
    reason: str | None = None  # why the back office refused it
    offline: bool = False  # priced by the till's own estimate
    slip_printed: bool = False


@dataclass(frozen=True)
class View:
    """A snapshot for the display and the local API."""

    step: Step
    member: Member | None
    lines: tuple[Line, ...]
    coupons: tuple[AppliedCoupon, ...]
    quote: Quote | None
    currency: str | None
    online: bool
    queue_depth: int
    message: str
    last_sale: Sale | None

    @property
    def subtotal_minor(self) -> int:
        return sum(line.total_minor for line in self.lines)


@dataclass(frozen=True)
class TillSettings:
    currency: str | None = None  # None: the catalog's currency
    card_prefix: str = "9871"
    card_length: int = 16
    commit_timeout: float = 2.0
    offline_redeem_cap: int = 500
    member_max_age: dt.timedelta = dt.timedelta(hours=24)
    point_value_minor: int = 1  # offline estimate only; online the quote says


# --- read from the back office's answers ---------------------------------------------------------


def whole(value: object) -> bool:
    """An int that is not a bool (JSON's ``true`` must not pass as 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def int_or_none(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def points_earned(answer: dict) -> int:
    """What the member earns on a quote or receipt: the back office keeps coupon bonus points
    apart from the basket's earning (``bonus_points``); the member gets both."""
    return int(answer.get("points_earned") or 0) + int(answer.get("bonus_points") or 0)


def quote_from_answer(answer: dict) -> Quote:
    """The back office's quote."""
    return Quote(
        subtotal_minor=int(answer["subtotal_minor"]),
        coupon_discount_minor=int(answer.get("coupon_discount_minor") or 0),
        payable_minor=int(answer["payable_minor"]),
        max_redeemable_points=int(answer.get("max_redeemable_points") or 0),
        point_value_minor=int(answer.get("point_value_minor") or 1),
        points_earned=points_earned(answer),
        balance=int_or_none(answer.get("balance")),
        estimated=False,
    )


def member_from_identify(answer: dict, number: str, via: str,
                         fetched_at: dt.datetime) -> Member:
    """The member of an identify answer (from the back office, or its copy in the cache)."""
    member = answer.get("member") or {}
    tier = answer.get("tier") or {}
    return Member(
        card_number=number, member_id=int_or_none(member.get("id")), name=member.get("name"),
        tier=tier.get("name") or tier.get("code"), balance=int_or_none(answer.get("balance")),
        language=member.get("language") or "en",
        coupons=tuple(answer.get("coupons") or ()), fetched_at=fetched_at, via=via,
    )


def member_from_phone(answer: dict, fetched_at: dt.datetime) -> Member:
    """The member of a find-by-phone answer: no card, so no balance or tier."""
    return Member(card_number=None, member_id=int(answer["id"]), name=answer.get("name"),
                  language=answer.get("language") or "en", via="phone", fetched_at=fetched_at)
