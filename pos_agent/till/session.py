"""The till session's state machine: what step the sale is at, and what each step may do.

Locking: one lock per session.  State is read and changed under it; the back office is never
called while it is held, so a slow or hung back office never keeps the screen, a scanner
thread or the local API waiting for the session.  A step that asks the back office reads what
it sends under the lock, asks outside it, and applies the answer under the lock again; a
quote whose sale changed in the meantime is not kept (``sale_changed``).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, ParamSpec, TypeVar

from loyalty.coupons import codes
from pos_agent import scans
from pos_agent.client import BackOfficeError, Refused
from pos_agent.till.collaborators import (
    BackOfficeClient,
    CacheLike,
    Clock,
    OutboxLike,
    PrintSlip,
    utc_now,
)
from pos_agent.till.coupons import coupon_from_code, coupon_from_payload, public_key
from pos_agent.till.delivery import Order, deliver, print_sale, sale_message, sale_of
from pos_agent.till.estimate import estimate_quote
from pos_agent.till.values import (
    AppliedCoupon,
    BackOfficeRefused,
    IllegalStep,
    InvalidInput,
    Line,
    Member,
    NotFound,
    Quote,
    Sale,
    Step,
    TillError,
    TillSettings,
    View,
    member_from_identify,
    member_from_phone,
    quote_from_answer,
    whole,
)

log = logging.getLogger(__name__)

PAYMENT_CARD_MESSAGE = scans.PAYMENT_CARD_TEXT  # "payment card: not a loyalty card"
SENDING_MESSAGE = "sending the sale to the back office"
MAX_LINES = 500  # as the back office's checkout
MAX_QUANTITY = 10_000
MAX_UNIT_PRICE_MINOR = 100_000_000
MAX_COUPONS = 10
MAX_SKU_CHARS = 64

P = ParamSpec("P")
R = TypeVar("R")


def _step(method: Callable[P, R]) -> Callable[P, R]:
    """A step that only reads and changes the session: all of it under the lock, then tell
    the listener (outside the lock)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        session: TillSession = args[0]  # type: ignore[assignment]
        try:
            with session._lock:
                return method(*args, **kwargs)
        finally:
            session._notify()

    return wrapper


def _asks(method: Callable[P, R]) -> Callable[P, R]:
    """A step that asks the back office: it takes the lock itself, only around the state it
    reads and changes; then the listener is told."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        session: TillSession = args[0]  # type: ignore[assignment]
        try:
            return method(*args, **kwargs)
        finally:
            session._notify()

    return wrapper


class TillSession:
    """One lane's sale in progress.  Every public step is atomic with respect to the others."""

    def __init__(
        self,
        *,
        client: BackOfficeClient,
        outbox: OutboxLike,
        cache: CacheLike,
        print_slip: PrintSlip | None = None,
        settings: TillSettings | None = None,
        clock: Clock = utc_now,
        on_change: Callable[[View], None] | None = None,
    ) -> None:
        self._client = client
        self._outbox = outbox
        self._cache = cache
        self._print_slip = print_slip
        self.settings = settings or TillSettings()
        self._clock = clock
        self.on_change = on_change
        self._lock = threading.RLock()
        # One slip at a time: printing happens outside the session's lock, and the next
        # sale may be committed while the last one's slip is still printing.
        self._printing = threading.Lock()
        self._online = True
        self._message = "ready"
        self._last_sale: Sale | None = None
        self._reset()

    # --- reading ----------------------------------------------------------------------------

    def view(self) -> View:
        with self._lock:
            return View(
                step=self.step, member=self._member, lines=tuple(self._lines),
                coupons=tuple(self._coupons), quote=self._quote, currency=self._currency(),
                online=self._online, queue_depth=self._queue_depth(), message=self._message,
                last_sale=self._last_sale,
            )

    @property
    def step(self) -> Step:
        with self._lock:
            if self._quote is not None:
                return Step.QUOTED
            if self._lines:
                return Step.BASKET
            if self._member is not None:
                return Step.MEMBER
            return Step.IDLE

    @property
    def online(self) -> bool:
        return self._online

    def set_online(self, online: bool) -> None:
        """The background replayer's news about the back office."""
        changed = online != self._online
        self._online = online
        if changed:
            self._notify()

    # --- scans --------------------------------------------------------------------------------

    def handle_scan(self, scan: scans.Scan) -> View:
        """Turn one classified scan into a step; refusals become the screen's message.

        Never raises for a refused step (a device thread has nobody to tell but the screen).
        """
        try:
            self._dispatch(scan)
        except TillError as exc:
            self._say(exc.message)
        return self.view()

    def _dispatch(self, scan: scans.Scan) -> None:
        if isinstance(scan, scans.PaymentCard):
            self._say(PAYMENT_CARD_MESSAGE)  # and nothing else: the scan is gone
        elif isinstance(scan, scans.MemberCard):
            self.identify_card(scan.number, via=scan.via)
        elif isinstance(scan, scans.ProductScan):
            self.add_product(scan)
        elif isinstance(scan, scans.CouponScan) and scan.signed_payload:
            # The QR code's signed text, verified here; the code the scan read from its
            # unverified claims is only for the screen.
            self.add_coupon(payload=scan.signed_payload)
        elif isinstance(scan, scans.CouponScan):
            self.add_coupon(code=scan.code)
        elif isinstance(scan, scans.FunctionScan):
            self._function(scan.name)
        elif isinstance(scan, scans.Junk):
            self._say(scan.message)
        else:  # pragma: no cover - classify returns one of the above
            self._say("scan not understood")

    def _function(self, name: str) -> None:
        if name == "total":
            self.commit(redeem_points=0)
        elif name == "cancel":
            self.cancel()
        elif name == "void":
            with self._lock:
                if not self._lines:
                    raise IllegalStep("no line to void")
                n = len(self._lines)
            self.void_line(n)
        else:
            raise InvalidInput(f"unknown function {name!r}")

    @_step
    def _say(self, message: str) -> None:
        self._message = message

    # --- member -----------------------------------------------------------------------------

    @_asks
    def identify_card(self, card_number: str, *, via: str = "typed") -> Member:
        """The member behind a loyalty card; offline, the cache's copy or an unknown member."""
        number = card_number.strip()
        if not (len(number) == self.settings.card_length and number.isdigit()
                and number.startswith(self.settings.card_prefix)):
            raise InvalidInput("not a loyalty card number of this programme")
        answer = self._ask(self._client.identify, number)
        if answer is not None:
            self._cache_quietly(self._cache.put_member, number, answer)
        with self._lock:
            if answer is None:
                member = self._member_offline(number, via)
            else:
                member = member_from_identify(answer, number, via, self._clock())
            self._set_member(member)
            return member

    @_asks
    def identify_phone(self, phone: str, region: str | None = None) -> Member:
        """The member with this phone number (online only: the cache is keyed by card)."""
        phone = phone.strip()
        if not 3 <= len(phone) <= 32:
            raise InvalidInput("phone: 3 to 32 characters")
        answer = self._ask(self._client.find_member, phone, region)
        if answer is not None:
            self._cache_quietly(self._cache.put_member_by_phone, phone, answer)
        with self._lock:
            if answer is None:
                member = self._phone_offline(phone)
            else:
                member = member_from_phone(answer, self._clock())
            self._set_member(member)
            return member

    def _phone_offline(self, phone: str) -> Member:
        found = self._cache.member_by_phone(phone)
        if found is None:
            raise IllegalStep("offline: this phone number is not known here; scan the card",
                              code="offline")
        summary, fetched_at = found
        member_id = int(summary["id"])
        card = self._cache.member_by_id(member_id)
        if card is not None:  # the freshest card answer carries the balance and tier
            answer, card_fetched_at = card
            member = member_from_identify(answer, "", "phone", card_fetched_at)
            return replace(member, card_number=None, from_cache=True)
        return Member(card_number=None, member_id=member_id, name=summary.get("name"),
                      language=summary.get("language") or "en", via="phone",
                      fetched_at=None, from_cache=True)

    def _member_offline(self, number: str, via: str) -> Member:
        cached = self._cache.get_member(number)
        if cached is None:
            self._message = "offline: card not known here; points follow when back online"
            return Member(card_number=number, member_id=None, via=via, known=False)
        answer, fetched_at = cached
        member = member_from_identify(answer, number, via, fetched_at)
        return replace(member, from_cache=True)

    def _set_member(self, member: Member) -> None:
        self._member = member
        self._quote = None
        if member.known:
            self._message = f"member: {member.name or member.masked_card}"

    # --- basket -------------------------------------------------------------------------------

    @_step
    def add_product(self, scan: scans.ProductScan, quantity: int = 1) -> Line:
        """A scanned product, priced from the cached catalog."""
        product = None
        if scan.gtin:
            product = self._cache.product_by_barcode(scan.gtin)
        if product is None and scan.sku:
            product = self._cache.product_by_sku(scan.sku)
        if product is None:
            raise NotFound("product not in the catalog", code="unknown_product")
        return self._add(product["sku"], product.get("name") or product["sku"], quantity,
                         int(product["price_minor"]), product.get("currency"))

    @_step
    def add_line(self, *, sku: str | None = None, barcode: str | None = None,
                 quantity: int = 1, unit_price_minor: int | None = None) -> Line:
        """A line pushed by the store's POS software; its price wins over the catalog's."""
        if bool(sku) == bool(barcode):
            raise InvalidInput("send sku or barcode (one of them)")
        if sku is not None and (not isinstance(sku, str) or len(sku) > MAX_SKU_CHARS):
            raise InvalidInput(f"sku: a string of at most {MAX_SKU_CHARS} characters")
        if barcode is not None and (not isinstance(barcode, str) or len(barcode) > 64):
            raise InvalidInput("barcode: a string of at most 64 characters")
        found = (self._cache.product_by_sku(sku) if sku
                 else self._cache.product_by_barcode(str(barcode)))
        if found is None and (barcode or unit_price_minor is None):
            raise NotFound("product not in the catalog: send its unit_price_minor",
                           code="unknown_product")
        product = found or {}  # an SKU the catalog lacks, priced by the POS
        price = unit_price_minor if unit_price_minor is not None else product["price_minor"]
        return self._add(product.get("sku") or str(sku), product.get("name") or sku or "",
                         quantity, price, product.get("currency"))

    def _add(self, sku: str, name: str, quantity: int, price: int, currency: str | None) -> Line:
        if not whole(quantity) or not 1 <= quantity <= MAX_QUANTITY:
            raise InvalidInput(f"quantity: a whole number from 1 to {MAX_QUANTITY}")
        if not whole(price) or not 0 <= price <= MAX_UNIT_PRICE_MINOR:
            raise InvalidInput("unit_price_minor: a whole number of minor units, not negative")
        basket_currency = self._currency()
        if currency and basket_currency and currency != basket_currency:
            raise InvalidInput(f"this till sells in {basket_currency}, not {currency}",
                               code="currency_mismatch")
        for i, line in enumerate(self._lines):
            if line.sku == sku and line.unit_price_minor == price:
                if line.quantity + quantity > MAX_QUANTITY:
                    raise InvalidInput(f"quantity: at most {MAX_QUANTITY} on a line")
                added = self._lines[i] = replace(line, quantity=line.quantity + quantity)
                break
        else:
            if len(self._lines) >= MAX_LINES:
                raise InvalidInput(f"a basket holds at most {MAX_LINES} lines")
            added = Line(sku, name, quantity, price)
            self._lines.append(added)
        if currency and not self._line_currency:
            self._line_currency = currency
        self._quote = None
        self._message = f"{quantity} x {name}"
        return added

    @_step
    def void_line(self, number: int) -> Line:
        """Remove line ``number`` (1-based, as shown)."""
        if not whole(number) or not 1 <= number <= len(self._lines):
            raise NotFound(f"no line {number}", code="unknown_line")
        line = self._lines.pop(number - 1)
        self._quote = None
        self._message = f"voided: {line.name}"
        return line

    # --- coupons ------------------------------------------------------------------------------

    @_asks
    def add_coupon(self, *, code: str | None = None, payload: str | None = None) -> AppliedCoupon:
        """A coupon by its code (online) or its signed QR payload (online or offline)."""
        with self._lock:
            self._room_for_coupon(code, payload)
        # The coupon key may have to come from the back office: outside the lock.
        key = public_key(self._cache, self._client) if payload else None
        with self._lock:
            self._room_for_coupon(code, payload)  # again: the sale may have moved on
            if payload:
                coupon = coupon_from_payload(payload, key=key, now=self._clock(),
                                             member=self._member)
            else:
                coupon = coupon_from_code(code, online=self._online)
            if any(c.code == coupon.code for c in self._coupons):
                raise IllegalStep("this coupon is already on the sale", code="coupon_twice")
            if self._outbox.coupon_used_locally(coupon.code):
                raise IllegalStep("this coupon was already used at this till",
                                  code="coupon_used")
            self._coupons.append(coupon)
            self._quote = None
            self._message = f"coupon {codes.display_code(coupon.code)}"
            return coupon

    def _room_for_coupon(self, code: str | None, payload: str | None) -> None:
        if self._member is None:
            raise IllegalStep("identify the member before their coupons")
        if bool(code) == bool(payload):
            raise InvalidInput("send code or payload (one of them)")
        if len(self._coupons) >= MAX_COUPONS:
            raise InvalidInput(f"at most {MAX_COUPONS} coupons on a sale")

    @_step
    def remove_coupon(self, code: str) -> AppliedCoupon:
        """Take a coupon off the sale; ``code`` as a person types it (as :meth:`add_coupon`)."""
        try:
            code = codes.normalise_code(code)
        except ValueError:
            raise NotFound("no such coupon on the sale", code="unknown_coupon") from None
        for i, coupon in enumerate(self._coupons):
            if coupon.code == code:
                self._quote = None
                return self._coupons.pop(i)
        raise NotFound("no such coupon on the sale", code="unknown_coupon")

    # --- quote, commit, cancel ----------------------------------------------------------------

    @_asks
    def quote(self) -> Quote:
        """Price the basket: the back office's quote, or offline a local estimate."""
        return self._price()

    @_asks
    def commit(self, redeem_points: int = 0) -> Sale:
        """Commit the sale through the outbox; print the slip; back to idle.

        Quotes first if needed.  ``redeem_points`` is capped by the quote (online) or by the
        offline rule (:func:`pos_agent.offline.offline_redeemable`).  Returns within about
        ``commit_timeout`` seconds whatever the back office does.  Once the sale is in the
        outbox the session is idle again: the next sale may start while this one is sent.
        """
        if not whole(redeem_points) or redeem_points < 0:
            raise InvalidInput("redeem_points: a whole number, not negative")
        started = time.monotonic()
        with self._lock:
            self._ready_to_price()
            priced = self._quote is not None
        if not priced:
            self._price()
        # The cashier's whole wait, quote included, stays within commit_timeout.
        budget = self.settings.commit_timeout - (time.monotonic() - started)
        with self._lock:
            order = self._queue(redeem_points)
        delivery = deliver(self._outbox, self._client, order, budget)
        if delivery.online is not None:
            self._online = delivery.online
        with self._printing:
            sale = print_sale(self._print_slip, sale_of(order, delivery, self._clock()))
        with self._lock:
            self._last_sale = sale
            if self._message == SENDING_MESSAGE:  # nobody has started the next sale yet
                self._message = sale_message(sale)
        return sale

    @_step
    def cancel(self) -> None:
        """Drop the sale in progress (nothing was sent)."""
        if self.step is Step.IDLE:
            raise IllegalStep("no sale to cancel")
        self._reset()
        self._message = "sale cancelled"

    # --- internals ------------------------------------------------------------------------------

    def _price(self) -> Quote:
        """Ask the back office for the price of the sale as it is now (outside the lock), or
        make the estimate; kept only if the sale did not change while the back office
        answered."""
        with self._lock:
            self._ready_to_price()
            body = self._body(redeem_points=0, offline=False)
            sale_priced = self._sale_as_priced()
        answer = self._ask(self._client.quote, body)
        with self._lock:
            if self._sale_as_priced() != sale_priced:
                raise IllegalStep("the sale changed while it was priced: price it again",
                                  code="sale_changed")
            if answer is None:
                assert self._member is not None  # _ready_to_price
                self._quote = estimate_quote(
                    lines=self._lines, coupons=self._coupons, member=self._member,
                    outbox=self._outbox, settings=self.settings, now=self._clock())
                self._message = "offline: ESTIMATE, points are added when the back office answers"
            else:
                self._quote = quote_from_answer(answer)
                self._message = "quoted"
            return self._quote

    def _sale_as_priced(self) -> tuple[Any, ...]:
        """What a quote depends on: a quote of another tuple is not this sale's price."""
        return self._member, tuple(self._lines), tuple(self._coupons), self._currency()

    def _queue(self, redeem_points: int) -> Order:
        """Put the priced sale in the outbox (durable on return) and start the next one."""
        self._ready_to_price()
        quote = self._quote
        if quote is None:  # a line, coupon or member came in while it was priced
            raise IllegalStep("the sale changed while it was priced: commit again",
                              code="sale_changed")
        if redeem_points > quote.max_redeemable_points:
            raise InvalidInput(f"at most {quote.max_redeemable_points} points can be redeemed"
                               + (" offline" if quote.estimated else ""),
                               code="redemption_too_large")
        member = self._member
        assert member is not None  # _ready_to_price
        body = self._body(redeem_points=redeem_points, offline=quote.estimated)
        try:
            key = self._outbox.add(body, member_id=member.member_id,
                                   redeem_points=redeem_points,
                                   coupon_codes=list(body["coupon_codes"]))
        except ValueError as exc:  # a coupon used meanwhile, a payment card: nothing queued
            raise IllegalStep(str(exc), code="not_queued") from None
        except Exception as exc:
            log.error("outbox refused a sale: %s", type(exc).__name__)
            raise TillError("the sale could not be saved at this till; nothing was committed",
                            code="outbox_failed", status=503) from None
        order = Order(key=key, body=body, quote=quote, redeem_points=redeem_points,
                      member=member, lines=tuple(self._lines), coupons=tuple(self._coupons))
        self._reset()
        self._message = SENDING_MESSAGE
        return order

    def _ask(self, call: Callable[..., dict], *args: Any) -> dict | None:
        """One back-office call (never under the lock).  Its answer, or None when the back
        office cannot be reached; a refusal raises :class:`BackOfficeRefused` in its words.
        Either way ``online`` is set from what happened."""
        try:
            answer = call(*args)
        except Refused as exc:
            self._online = True
            raise BackOfficeRefused(_problem_text(exc), code=exc.code,
                                    status=_refusal_status(exc.status)) from None
        except BackOfficeError:
            self._online = False
            return None
        self._online = True
        return answer

    def _reset(self) -> None:
        self._member: Member | None = None
        self._lines: list[Line] = []
        self._coupons: list[AppliedCoupon] = []
        self._quote: Quote | None = None
        self._line_currency: str | None = None

    def _ready_to_price(self) -> None:
        if not self._lines:
            raise IllegalStep("the basket is empty", code="empty_basket")
        if self._member is None:
            raise IllegalStep("identify the member first (card, QR or phone)",
                              code="no_member")
        if self._currency() is None:
            raise IllegalStep("no currency: set till.currency in the config", code="no_currency")

    def _currency(self) -> str | None:
        return self.settings.currency or self._line_currency

    def _body(self, *, redeem_points: int, offline: bool) -> dict[str, Any]:
        member = self._member
        assert member is not None
        body: dict[str, Any] = {
            "currency": self._currency(),
            "lines": [{"sku": line.sku, "quantity": line.quantity,
                       "unit_price_minor": line.unit_price_minor} for line in self._lines],
            "redeem_points": redeem_points,
            "coupon_codes": [c.code for c in self._coupons],
            "occurred_at": self._clock().isoformat(),
        }
        if member.card_number:
            body["card_number"] = member.card_number
        else:
            body["member_id"] = member.member_id
        if offline:
            body["offline"] = True  # the back office flags, rather than refuses, what was wrong
        return body

    @staticmethod
    def _cache_quietly(put: Callable[..., Any], *args: Any) -> None:
        try:
            put(*args)
        except Exception as exc:  # the cache is a convenience; the sale goes on
            log.warning("not cached: %s", type(exc).__name__)

    def _queue_depth(self) -> int:
        try:
            return int(self._outbox.depth())
        except Exception:  # the display must not fail because of a busy file
            return -1

    def _notify(self) -> None:
        listener = self.on_change
        if listener is None:
            return
        try:
            listener(self.view())
        except Exception as exc:
            log.warning("display update failed: %s", type(exc).__name__)


def _problem_text(exc: Refused) -> str:
    problem = getattr(exc, "problem", None) or {}
    return str(problem.get("detail") or problem.get("title") or exc.code or "refused")


def _refusal_status(status: int) -> int:
    return status if 400 <= status < 500 else 422
