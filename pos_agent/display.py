"""The lane's screen: the sale in progress as plain text, redrawn on every change.

For lanes with only a screen and a scanner.  :func:`render` is pure (a :class:`~pos_agent.till.View`
in, text out) and is what the tests check; :class:`TerminalDisplay` only clears the terminal and
writes it.  The card number is shown masked; a payment card never gets here at all (the session
keeps nothing of it but the message).
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
from typing import TextIO

from loyalty.coupons.codes import display_code
from loyalty.money import minor_exponent
from pos_agent.till import Sale, Step, View

WIDTH = 64
CLEAR = "\x1b[H\x1b[2J"
RED, GREEN, YELLOW, BOLD, RESET = "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[1m", "\x1b[0m"

def money(minor: int, currency: str | None) -> str:
    """``1234, "AED"`` -> ``"12.34"``; the currency is shown once, in the header.  Minor units
    per currency come from :mod:`loyalty.money`, as on the slip."""
    exponent = minor_exponent(currency or "")
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exponent)
    return f"{sign}{whole:,}" + (f".{frac:0{exponent}d}" if exponent else "")


def render(view: View, *, title: str = "", color: bool = False,
           now: dt.datetime | None = None) -> str:
    """The whole screen for ``view``; ``color`` adds ANSI colours for a real terminal."""

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{RESET}" if color else text

    rule = "-" * WIDTH
    word = "ONLINE" if view.online else "OFFLINE"
    head = f" {title or 'LOYALTY TILL'}"
    right = f"{word}  queue {max(view.queue_depth, 0)}"
    gap = " " * max(1, WIDTH - len(head) - len(right))
    out = [head + gap + paint(word, GREEN if view.online else RED) + right[len(word):], rule]
    out += _member_lines(view, now)
    out.append(rule)
    out += _basket_lines(view)
    if view.coupons:
        out.append(rule)
        for coupon in view.coupons:
            out.append(f" Coupon  {display_code(coupon.code)}  {coupon.description}".rstrip())
    out += _total_lines(view, paint)
    if view.step is Step.IDLE and view.last_sale is not None:
        out += [rule, _last_sale_line(view.last_sale)]
    out += [rule, " > " + (view.message or "")]
    return "\n".join(out) + "\n"


def _member_lines(view: View, now: dt.datetime | None) -> list[str]:
    member = view.member
    if member is None:
        return [" Member  -  (swipe or scan the member's card)"]
    if not member.known:
        return [f" Member  card {member.masked_card}  (not known here: offline)"]
    name = member.name or "member"
    tier = f"  ({member.tier})" if member.tier else ""
    card = f"  card {member.masked_card}" if member.card_number else "  (by phone)"
    lines = [f" Member  {name}{tier}{card}"]
    if member.balance is not None:
        age = ""
        if member.from_cache and member.fetched_at is not None:
            hours = ((now or dt.datetime.now(dt.UTC)) - member.fetched_at).total_seconds() / 3600
            age = f"  [cached {hours:.0f} h ago]"
        lines.append(f"         balance {member.balance:,} points{age}")
    return lines


def _basket_lines(view: View) -> list[str]:
    if not view.lines:
        return ["  (no lines)"]
    out = []
    for n, line in enumerate(view.lines, start=1):
        name = line.name[:26]
        each = money(line.unit_price_minor, view.currency)
        total = money(line.total_minor, view.currency)
        out.append(f" {n:>3}  {name:<26} {line.quantity:>4} x {each:>10} {total:>11}")
    return out


def _total_lines(view: View, paint) -> list[str]:  # type: ignore[no-untyped-def]
    cur = view.currency or ""
    out = ["-" * WIDTH, _amount(f"Subtotal {cur}".rstrip(), view.subtotal_minor, cur)]
    quote = view.quote
    if quote is None:
        return out
    if quote.coupon_discount_minor:
        out.append(_amount("Coupon discount", -quote.coupon_discount_minor, cur))
    out.append(_amount("Payable", quote.payable_minor, cur))
    earned = "?" if quote.points_earned is None else f"{quote.points_earned:,}"
    out.append(f" Points earned {earned}    redeemable up to {quote.max_redeemable_points:,}")
    if quote.estimated:
        out.append(" " + paint("ESTIMATE (offline): the back office prices this sale later",
                               YELLOW))
    return out


def _amount(label: str, minor: int, currency: str) -> str:
    value = money(minor, currency or None)
    return f" {label:<40}{value:>{WIDTH - 41}}"


def _last_sale_line(sale: Sale) -> str:
    parts = [f" Last sale: {sale.status}"]
    if sale.points_earned is not None:
        parts.append(f"+{sale.points_earned:,} points")
    if sale.redeem_points:
        parts.append(f"-{sale.redeem_points:,} redeemed")
    if sale.balance_after is not None:
        parts.append(f"balance {sale.balance_after:,}")
    return ", ".join(parts)


class TerminalDisplay:
    """Redraws the screen on each change; safe to call from any thread."""

    def __init__(self, stream: TextIO | None = None, *, title: str = "",
                 color: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.title = title
        self.color = self.stream.isatty() if color is None else color
        self._lock = threading.Lock()
        self._last = ""

    def __call__(self, view: View) -> None:
        text = render(view, title=self.title, color=self.color)
        with self._lock:
            if text == self._last:
                return
            self._last = text
            self.stream.write((CLEAR if self.color else "\n") + text)
            self.stream.flush()
