"""A committed sale on its way: the outbox already holds it (durable), the back office is tried
for at most the cashier's budget, the background replay delivers it if this attempt does not,
and the slip is printed whatever happened.  Nothing here runs under the session's lock."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from pos_agent.till.collaborators import OutboxLike, PrintSlip
from pos_agent.till.values import (
    AppliedCoupon,
    Line,
    Member,
    Quote,
    Sale,
    int_or_none,
    points_earned,
)

log = logging.getLogger(__name__)

MIN_ATTEMPT_S = 0.05  # less time left than this: leave the sale to the background replay

R = TypeVar("R")


@dataclass(frozen=True)
class Order:
    """A sale as it was put in the outbox: what the session held at that moment."""

    key: str
    body: dict[str, Any]
    quote: Quote
    redeem_points: int
    member: Member
    lines: tuple[Line, ...]
    coupons: tuple[AppliedCoupon, ...]


@dataclass(frozen=True)
class Delivery:
    """What became of the attempt.  ``online``: what it says of the back office (None:
    nothing either way)."""

    receipt: dict[str, Any] | None
    refused: str | None
    online: bool | None


def deliver(outbox: OutboxLike, client: Any, order: Order, budget: float) -> Delivery:
    """Try the back office for at most ``budget`` seconds."""
    deadline = time.monotonic() + budget
    # A quote that just got through says the back office is up: skip the outbox's backoff.
    force = not order.quote.estimated
    report = None
    if budget >= MIN_ATTEMPT_S:
        report = run_within(lambda: outbox.replay(client, force=force), budget)
    while (report is not None and report.skipped and outbox.state(order.key) == "pending"
           and outbox.due() and time.monotonic() < deadline):
        time.sleep(0.02)  # another thread is replaying: it will carry this sale too
    state = outbox.state(order.key)
    receipt = outbox.result(order.key) if state == "delivered" else None
    refused = _refusal(outbox, order.key) if state == "dead" else None
    online: bool | None = None
    if receipt is not None or refused is not None:
        online = True
    elif report is None and not order.quote.estimated or report is not None and report.offline:
        online = False
    return Delivery(receipt, refused, online)


def sale_of(order: Order, delivery: Delivery, at: dt.datetime) -> Sale:
    """The sale as the cashier and the slip see it."""
    quote, redeem, receipt = order.quote, order.redeem_points, delivery.receipt
    payable = max(quote.payable_minor - redeem * quote.point_value_minor, 0)
    status = "accepted" if receipt else ("refused" if delivery.refused else "queued offline")
    return Sale(
        key=order.key, status=status, at=at, currency=str(order.body["currency"]),
        member=order.member, lines=order.lines, coupons=order.coupons,
        redeem_points=redeem, subtotal_minor=quote.subtotal_minor,
        coupon_discount_minor=quote.coupon_discount_minor,
        redeemed_value_minor=redeem * quote.point_value_minor,
        payable_minor=int(receipt.get("payable_minor", payable)) if receipt else payable,
        points_earned=points_earned(receipt) if receipt else None,
        balance_after=int_or_none(receipt.get("balance_after")) if receipt else None,
        receipt=receipt, reason=delivery.refused, offline=quote.estimated,
    )


def _refusal(outbox: OutboxLike, key: str) -> str:
    for letter in outbox.dead_letters():
        if letter.key == key:
            return str(letter.reason)
    return "refused by the back office"


def print_sale(print_slip: PrintSlip | None, sale: Sale) -> Sale:
    if print_slip is None:
        return sale
    try:
        print_slip(sale)
    except Exception as exc:  # a jammed printer never undoes a sale
        log.warning("slip not printed: %s", type(exc).__name__)
        return sale
    return replace(sale, slip_printed=True)


def sale_message(sale: Sale) -> str:
    if sale.status == "accepted":
        text = "sale accepted"
    elif sale.status == "refused":
        text = f"sale refused by the back office: {sale.reason}"
    else:
        text = "sale queued offline: it will be sent when the back office answers"
    if not sale.slip_printed:
        text += " (no slip printed)"
    return text


def run_within(fn: Callable[[], R], timeout: float) -> R | None:
    """Run ``fn`` in a daemon thread; wait at most ``timeout``.  None: still running (or it
    failed, which is logged by type only: the sale is safe in the outbox either way)."""
    outcome: list[R] = []

    def target() -> None:
        try:
            outcome.append(fn())
        except Exception as exc:
            log.warning("replay failed: %s", type(exc).__name__)

    worker = threading.Thread(target=target, name="till-commit-replay", daemon=True)
    worker.start()
    worker.join(timeout)
    return outcome[0] if outcome else None
