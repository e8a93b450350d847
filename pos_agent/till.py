"""The till session: one sale at a time, from the member's card to the printed slip.

Steps::

    idle --identify--> member --line--> basket --quote--> quoted --commit--> (slip) --> idle
           (card, QR, phone)   (scan or local API)  (online or estimate) (outbox, then replay)

Lines may also come before the member (the store's POS software often pushes the basket
first); a line, a coupon or another member after a quote drops the quote.  Void a line or
cancel the sale at any step before commit.

Invariants:

- Every sale is committed through the outbox first (durable on return); the back office is
  then tried for at most ``commit_timeout`` seconds.  A cashier never waits longer, and a sale
  that did not get through stands as "queued offline": the outbox delivers it later.
- An illegal step (commit with an empty basket, cancel when idle, ...) raises a
  :class:`TillError` and changes nothing.
- A payment card leaves no trace: the screen says "payment card: not a loyalty card" and
  nothing of the scan is kept, logged or sent.
- Thread-safe: one lock per session serialises device threads and the local API.

The session does no I/O of its own: the back office client, outbox, cache, printer and clock
are handed in, so tests drive it with a fake back office and the real outbox.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, ParamSpec, Protocol, TypeVar

from loyalty.coupons import codes, signing
from loyalty.coupons.signing import BadPayload
from loyalty.money import format_money, max_points_for, percent_of
from pos_agent import scans
from pos_agent.client import BackOfficeError, Refused
from pos_agent.offline import offline_redeemable

log = logging.getLogger(__name__)

PAYMENT_CARD_MESSAGE = scans.PAYMENT_CARD_TEXT  # "payment card: not a loyalty card"
MAX_LINES = 500  # as the back office's checkout
MAX_QUANTITY = 10_000
MAX_UNIT_PRICE_MINOR = 100_000_000
MAX_COUPONS = 10
MAX_SKU_CHARS = 64
MIN_ATTEMPT_S = 0.05  # less time left than this: leave the sale to the background replay

P = ParamSpec("P")
R = TypeVar("R")


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


# --- collaborators (the real ones: pos_agent.client, outbox, cache, printer) ----------------


class BackOfficeClient(Protocol):
    def identify(self, card_number: str) -> dict: ...
    def find_member(self, phone: str, region: str | None = None) -> dict: ...
    def quote(self, body: dict) -> dict: ...
    def public_key(self) -> str: ...


class OutboxLike(Protocol):
    def add(self, body: dict, *, member_id: int | None, redeem_points: int,
            coupon_codes: list[str]) -> str: ...
    def depth(self) -> int: ...
    def pending_redemptions(self, member_id: int, since: dt.datetime | None = None) -> int: ...
    def coupon_used_locally(self, code: str) -> bool: ...
    def replay(self, client: Any, *, force: bool = False) -> Any: ...
    def result(self, key: str) -> dict | None: ...
    def state(self, key: str) -> str | None: ...
    def due(self) -> bool: ...
    def dead_letters(self) -> list[Any]: ...


class CacheLike(Protocol):
    def get_member(self, card_number: str) -> tuple[dict, dt.datetime] | None: ...
    def member_by_id(self, member_id: int) -> tuple[dict, dt.datetime] | None: ...
    def member_by_phone(self, phone: str) -> tuple[dict, dt.datetime] | None: ...
    def put_member_by_phone(self, phone: str, member: dict) -> None: ...
    def put_member(self, card_number: str, answer: dict) -> None: ...
    def product_by_barcode(self, barcode: str) -> dict | None: ...
    def product_by_sku(self, sku: str) -> dict | None: ...
    def public_key(self) -> str | None: ...
    def put_public_key(self, pem: str) -> None: ...


PrintSlip = Callable[[Sale], None]
Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _step(method: Callable[P, R]) -> Callable[P, R]:
    """Run a session method under the lock, then tell the listener (outside the lock)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        session: TillSession = args[0]  # type: ignore[assignment]
        try:
            with session._lock:
                return method(*args, **kwargs)
        finally:
            session._notify()

    return wrapper


class TillSession:
    """One lane's sale in progress.  Every public step is atomic under one lock."""

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

    @_step
    def identify_card(self, card_number: str, *, via: str = "typed") -> Member:
        """The member behind a loyalty card; offline, the cache's copy or an unknown member."""
        number = card_number.strip()
        if not (len(number) == self.settings.card_length and number.isdigit()
                and number.startswith(self.settings.card_prefix)):
            raise InvalidInput("not a loyalty card number of this programme")
        answer = self._ask(self._client.identify, number)
        if answer is None:
            member = self._member_offline(number, via)
        else:
            self._cache_quietly(self._cache.put_member, number, answer)
            member = _member_from_identify(answer, number, via, self._clock())
        self._set_member(member)
        return member

    @_step
    def identify_phone(self, phone: str, region: str | None = None) -> Member:
        """The member with this phone number (online only: the cache is keyed by card)."""
        phone = phone.strip()
        if not 3 <= len(phone) <= 32:
            raise InvalidInput("phone: 3 to 32 characters")
        answer = self._ask(self._client.find_member, phone, region)
        if answer is None:
            member = self._phone_offline(phone)
        else:
            self._cache_quietly(self._cache.put_member_by_phone, phone, answer)
            member = Member(card_number=None, member_id=int(answer["id"]),
                            name=answer.get("name"), language=answer.get("language") or "en",
                            via="phone", fetched_at=self._clock())
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
            member = _member_from_identify(answer, "", "phone", card_fetched_at)
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
        member = _member_from_identify(answer, number, via, fetched_at)
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
        if not _whole(quantity) or not 1 <= quantity <= MAX_QUANTITY:
            raise InvalidInput(f"quantity: a whole number from 1 to {MAX_QUANTITY}")
        if not _whole(price) or not 0 <= price <= MAX_UNIT_PRICE_MINOR:
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
        if not _whole(number) or not 1 <= number <= len(self._lines):
            raise NotFound(f"no line {number}", code="unknown_line")
        line = self._lines.pop(number - 1)
        self._quote = None
        self._message = f"voided: {line.name}"
        return line

    # --- coupons ------------------------------------------------------------------------------

    @_step
    def add_coupon(self, *, code: str | None = None, payload: str | None = None) -> AppliedCoupon:
        """A coupon by its code (online) or its signed QR payload (online or offline)."""
        if self._member is None:
            raise IllegalStep("identify the member before their coupons")
        if bool(code) == bool(payload):
            raise InvalidInput("send code or payload (one of them)")
        if len(self._coupons) >= MAX_COUPONS:
            raise InvalidInput(f"at most {MAX_COUPONS} coupons on a sale")
        coupon = self._coupon_from_payload(payload) if payload else self._coupon_from_code(code)
        if any(c.code == coupon.code for c in self._coupons):
            raise IllegalStep("this coupon is already on the sale", code="coupon_twice")
        if self._outbox.coupon_used_locally(coupon.code):
            raise IllegalStep("this coupon was already used at this till", code="coupon_used")
        self._coupons.append(coupon)
        self._quote = None
        self._message = f"coupon {codes.display_code(coupon.code)}"
        return coupon

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

    def _coupon_from_code(self, code: str | None) -> AppliedCoupon:
        try:
            canonical = codes.normalise_code(str(code))
        except ValueError:
            raise InvalidInput("not a coupon code", code="malformed_code") from None
        if not self._online:
            raise IllegalStep("offline: scan the coupon's QR code (a printed code cannot be "
                              "checked offline)", code="offline")
        return AppliedCoupon(code=canonical)

    def _coupon_from_payload(self, payload: str) -> AppliedCoupon:
        key = self._public_key()
        if key is None:
            raise IllegalStep("offline: no coupon key cached yet", code="offline")
        try:
            claims = signing.verify_payload(key, payload, at=self._clock())
        except (BadPayload, ValueError) as exc:
            raise InvalidInput(f"coupon refused: {exc}", code="bad_coupon") from None
        member = self._member
        if member is not None and member.member_id is not None \
                and claims.member_id != member.member_id:
            raise InvalidInput("this coupon belongs to another member", code="not_your_coupon")
        return AppliedCoupon(code=claims.code, payload=payload.strip(), offer=claims.offer,
                             description=_describe_offer(claims.offer))

    # --- quote, commit, cancel ----------------------------------------------------------------

    @_step
    def quote(self) -> Quote:
        """Price the basket: the back office's quote, or offline a local estimate."""
        self._ready_to_price()
        body = self._body(redeem_points=0, offline=False)
        answer = self._ask(self._client.quote, body)
        if answer is None:
            self._quote = self._estimate()
            self._message = "offline: ESTIMATE, points are added when the back office answers"
            return self._quote
        self._quote = Quote(
            subtotal_minor=int(answer["subtotal_minor"]),
            coupon_discount_minor=int(answer.get("coupon_discount_minor") or 0),
            payable_minor=int(answer["payable_minor"]),
            max_redeemable_points=int(answer.get("max_redeemable_points") or 0),
            point_value_minor=int(answer.get("point_value_minor") or 1),
            points_earned=_points_earned(answer),
            balance=_int_or_none(answer.get("balance")),
            estimated=False,
        )
        self._message = "quoted"
        return self._quote

    @_step
    def commit(self, redeem_points: int = 0) -> Sale:
        """Commit the sale through the outbox; print the slip; back to idle.

        Quotes first if needed.  ``redeem_points`` is capped by the quote (online) or by the
        offline rule (:func:`pos_agent.offline.offline_redeemable`).  Returns within about
        ``commit_timeout`` seconds whatever the back office does.
        """
        if not _whole(redeem_points) or redeem_points < 0:
            raise InvalidInput("redeem_points: a whole number, not negative")
        self._ready_to_price()
        started = time.monotonic()
        quote = self._quote or self.quote()
        # The cashier's whole wait, quote included, stays within commit_timeout.
        budget = self.settings.commit_timeout - (time.monotonic() - started)
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
        sale = self._deliver(key, quote, redeem_points, body, budget)
        sale = self._print(sale)
        self._last_sale = sale
        self._message = _sale_message(sale)
        self._reset()
        return sale

    @_step
    def cancel(self) -> None:
        """Drop the sale in progress (nothing was sent)."""
        if self.step is Step.IDLE:
            raise IllegalStep("no sale to cancel")
        self._reset()
        self._message = "sale cancelled"

    # --- internals ------------------------------------------------------------------------------

    def _ask(self, call: Callable[..., dict], *args: Any) -> dict | None:
        """One back-office call.  Its answer, or None when the back office cannot be reached;
        a refusal raises :class:`BackOfficeRefused` in its words.  Either way ``online`` is
        set from what happened."""
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

    def _estimate(self) -> Quote:
        """Offline: the till's own sums, marked estimated; redemption capped by the offline rule."""
        subtotal = sum(line.total_minor for line in self._lines)
        discount = min(subtotal, sum(_offer_discount(c.offer, subtotal) for c in self._coupons))
        member = self._member
        assert member is not None
        allowed = 0
        if member.known and member.member_id is not None and member.fetched_at is not None:
            allowed = offline_redeemable(
                cached_balance=member.balance or 0,
                pending=self._outbox.pending_redemptions(member.member_id,
                                                         since=member.fetched_at),
                cap=self.settings.offline_redeem_cap, fetched_at=member.fetched_at,
                now=self._clock(), max_age=self.settings.member_max_age)
        value = self.settings.point_value_minor
        allowed = min(allowed, max_points_for(subtotal - discount, value) if value else 0)
        return Quote(subtotal_minor=subtotal, coupon_discount_minor=discount,
                     payable_minor=subtotal - discount, max_redeemable_points=max(allowed, 0),
                     point_value_minor=value, points_earned=None, balance=member.balance,
                     estimated=True)

    def _deliver(self, key: str, quote: Quote, redeem: int, body: dict[str, Any],
                 budget: float) -> Sale:
        """Try the back office for at most ``budget`` seconds; the outbox already holds the
        sale, and the background replay delivers it if this attempt does not."""
        deadline = time.monotonic() + budget
        # A quote that just got through says the back office is up: skip the outbox's backoff.
        force = not quote.estimated
        report = None
        if budget >= MIN_ATTEMPT_S:
            report = _run_within(lambda: self._outbox.replay(self._client, force=force), budget)
        while (report is not None and report.skipped and self._outbox.state(key) == "pending"
               and self._outbox.due() and time.monotonic() < deadline):
            time.sleep(0.02)  # another thread is replaying: it will carry this sale too
        state = self._outbox.state(key)
        receipt = self._outbox.result(key) if state == "delivered" else None
        refused = self._refusal(key) if state == "dead" else None
        if receipt is not None or refused is not None:
            self._online = True
        elif report is None and not quote.estimated or report is not None and report.offline:
            self._online = False
        member = self._member
        assert member is not None
        payable = max(quote.payable_minor - redeem * quote.point_value_minor, 0)
        status = "accepted" if receipt else ("refused" if refused else "queued offline")
        return Sale(
            key=key, status=status, at=self._clock(), currency=str(body["currency"]),
            member=member, lines=tuple(self._lines), coupons=tuple(self._coupons),
            redeem_points=redeem, subtotal_minor=quote.subtotal_minor,
            coupon_discount_minor=quote.coupon_discount_minor,
            redeemed_value_minor=redeem * quote.point_value_minor,
            payable_minor=int(receipt.get("payable_minor", payable)) if receipt else payable,
            points_earned=_points_earned(receipt) if receipt else None,
            balance_after=_int_or_none(receipt.get("balance_after")) if receipt else None,
            receipt=receipt, reason=refused, offline=quote.estimated,
        )

    def _refusal(self, key: str) -> str:
        for letter in self._outbox.dead_letters():
            if letter.key == key:
                return letter.reason
        return "refused by the back office"

    def _print(self, sale: Sale) -> Sale:
        if self._print_slip is None:
            return sale
        try:
            self._print_slip(sale)
        except Exception as exc:  # a jammed printer never undoes a sale
            log.warning("slip not printed: %s", type(exc).__name__)
            return sale
        return replace(sale, slip_printed=True)

    # --- cache adapters -------------------------------------------------------------------------

    @staticmethod
    def _cache_quietly(put: Callable[..., Any], *args: Any) -> None:
        try:
            put(*args)
        except Exception as exc:  # the cache is a convenience; the sale goes on
            log.warning("not cached: %s", type(exc).__name__)

    def _public_key(self) -> str | None:
        pem = self._cache.public_key()
        if pem:
            return pem
        try:
            pem = self._client.public_key()
        except BackOfficeError:
            return None
        self._cache.put_public_key(pem)
        return pem

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


# --- pure helpers --------------------------------------------------------------------------------


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_or_none(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def _points_earned(answer: dict) -> int:
    """What the member earns on a quote or receipt: the back office keeps coupon bonus points
    apart from the basket's earning (``bonus_points``); the member gets both."""
    return int(answer.get("points_earned") or 0) + int(answer.get("bonus_points") or 0)


def _member_from_identify(answer: dict, number: str, via: str,
                          fetched_at: dt.datetime) -> Member:
    member = answer.get("member") or {}
    tier = answer.get("tier") or {}
    return Member(
        card_number=number, member_id=_int_or_none(member.get("id")), name=member.get("name"),
        tier=tier.get("name") or tier.get("code"), balance=_int_or_none(answer.get("balance")),
        language=member.get("language") or "en",
        coupons=tuple(answer.get("coupons") or ()), fetched_at=fetched_at, via=via,
    )


def _problem_text(exc: Refused) -> str:
    problem = getattr(exc, "problem", None) or {}
    return str(problem.get("detail") or problem.get("title") or exc.code or "refused")


def _refusal_status(status: int) -> int:
    return status if 400 <= status < 500 else 422


def _offer_discount(offer: dict[str, Any], subtotal: int) -> int:
    """What a basket-wide offer takes off, for the offline estimate only (rounded as the back
    office rounds: :func:`loyalty.money.percent_of`)."""
    if offer.get("category_id") is not None:
        return 0  # category offers need the back office's catalog tree: not estimated
    if subtotal < int(offer.get("min_spend_minor") or 0):
        return 0
    if offer.get("kind") == "percent_off":
        return percent_of(subtotal, int(offer.get("percent") or 0))
    if offer.get("kind") == "amount_off":
        return min(subtotal, int(offer.get("amount_minor") or 0))
    return 0


def _describe_offer(offer: dict[str, Any]) -> str:
    kind = offer.get("kind")
    if kind == "percent_off":
        return f"{offer.get('percent')}% off"
    if kind == "amount_off":
        amount, currency = int(offer.get("amount_minor") or 0), offer.get("currency")
        return f"{format_money(amount, currency) if currency else amount} off"
    if kind == "free_item":
        return f"free {offer.get('free_sku')}"
    if kind == "bonus_points":
        return f"{offer.get('bonus_points')} bonus points"
    return str(kind or "coupon")


def _sale_message(sale: Sale) -> str:
    if sale.status == "accepted":
        text = "sale accepted"
    elif sale.status == "refused":
        text = f"sale refused by the back office: {sale.reason}"
    else:
        text = "sale queued offline: it will be sent when the back office answers"
    if not sale.slip_printed:
        text += " (no slip printed)"
    return text


def _run_within(fn: Callable[[], R], timeout: float) -> R | None:
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
