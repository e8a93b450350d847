"""Coupons: issue, price at checkout, redeem once, restore on return.

CONTRACT used by the checkout (loyalty/checkout/: pricing, commit, returns) -- keep these
signatures:
``PricedLine``, ``CouponOutcome``, ``price_coupons``, ``multiplier_bonus``, ``redeem_coupons``,
``restore_coupons_for_return`` and ``active_coupons``.

The pricing itself is pure and lives in :mod:`loyalty.coupons.engine`; this module loads
coupons, calls it, and writes.  Services flush and never commit.  Policies: docs/COUPONS.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from loyalty.audit.services import record_event
from loyalty.catalog.models import Category
from loyalty.config import Settings
from loyalty.coupons import signing
from loyalty.coupons.codes import MalformedCode, new_code, normalise_code
from loyalty.coupons.engine import BasketView, PricedLine, evaluate, multiplier_bonus, refuse
from loyalty.coupons.models import Coupon, CouponStatus, OfferKind
from loyalty.db import utcnow
from loyalty.errors import InvalidInput, NotFound, SigningKeyMissing, UnknownCoupon
from loyalty.members.models import Member
from loyalty.stores.models import Store

__all__ = [
    "CouponCard", "CouponOutcome", "Offer", "PricedLine", "active_coupons", "coupon_card",
    "coupon_payload", "coupon_signing_key", "find_coupon", "issue_coupon", "list_coupons",
    "member_language", "multiplier_bonus", "offer_summary", "price_coupons", "redeem_coupons",
    "restore_coupons_for_return",
]

DEFAULT_VALIDITY = dt.timedelta(days=30)
MAX_VALIDITY = dt.timedelta(days=3 * 366)
SYSTEM_ACTOR = "system"


@dataclass
class CouponOutcome:
    coupons: list[Coupon] = field(default_factory=list)
    # line_no -> discount in minor units taken off that line by coupons (never above net)
    line_discounts: dict[int, int] = field(default_factory=dict)
    bonus_points: int = 0

    @property
    def discount_minor(self) -> int:
        return sum(self.line_discounts.values())


# --- issuing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    """What a coupon gives and on what terms.  Only the fields of its ``kind`` may be set:

    * ``percent_off``: ``percent`` (1..100), on the basket or on ``category_id``;
    * ``amount_off``: ``amount_minor`` in ``currency``, on the basket or on ``category_id``;
    * ``free_item``: one unit of ``free_sku`` free, when it is in the basket;
    * ``bonus_points``: ``bonus_points`` extra points (optionally only with ``category_id``);
    * ``points_multiplier``: the basket's earned points (or only those of ``category_id``'s
      lines) times ``multiplier`` (2..10), the extra given as bonus points.

    ``min_spend_minor`` (in ``currency``) is over the basket's net; ``store_id`` restricts the
    coupon to one store; an ``exclusive`` coupon cannot be combined with any other.
    """

    kind: OfferKind
    percent: int | None = None
    amount_minor: int | None = None
    currency: str | None = None
    category_id: int | None = None
    free_sku: str | None = None
    bonus_points: int | None = None
    multiplier: int | None = None
    min_spend_minor: int = 0
    store_id: int | None = None
    exclusive: bool = False


_KIND_FIELD = {
    OfferKind.PERCENT_OFF: "percent",
    OfferKind.AMOUNT_OFF: "amount_minor",
    OfferKind.FREE_ITEM: "free_sku",
    OfferKind.BONUS_POINTS: "bonus_points",
    OfferKind.POINTS_MULTIPLIER: "multiplier",
}
MIN_MULTIPLIER, MAX_MULTIPLIER = 2, 10


def check_offer(offer: Offer) -> None:
    """Raise InvalidInput unless the offer is complete and self-consistent."""
    kind = OfferKind(offer.kind)
    own = _KIND_FIELD[kind]
    if getattr(offer, own) in (None, ""):
        raise InvalidInput(f"a {kind.value} coupon needs {own}")
    stray = [name for name in _KIND_FIELD.values() if name != own and getattr(offer, name)]
    if stray:
        raise InvalidInput(f"a {kind.value} coupon cannot have {', '.join(stray)}")
    if offer.percent is not None and not 1 <= offer.percent <= 100:
        raise InvalidInput("percent must be between 1 and 100")
    if offer.amount_minor is not None and offer.amount_minor <= 0:
        raise InvalidInput("amount_minor must be positive")
    if offer.bonus_points is not None and offer.bonus_points <= 0:
        raise InvalidInput("bonus_points must be positive")
    if offer.multiplier is not None and not MIN_MULTIPLIER <= offer.multiplier <= MAX_MULTIPLIER:
        raise InvalidInput(f"multiplier must be between {MIN_MULTIPLIER} and {MAX_MULTIPLIER}")
    if offer.min_spend_minor < 0:
        raise InvalidInput("min_spend_minor cannot be negative")
    if kind == OfferKind.FREE_ITEM and offer.category_id is not None:
        raise InvalidInput("a free_item coupon names its item by free_sku, not a category")
    if (kind == OfferKind.AMOUNT_OFF or offer.min_spend_minor) and not offer.currency:
        raise InvalidInput("an amount or a minimum spend needs its currency")


def issue_coupon(
    session: Session,
    member_id: int,
    offer: Offer,
    *,
    staff_id: int | None,
    actor: str,
    valid_from: dt.datetime | None = None,
    valid_to: dt.datetime | None = None,
    campaign_id: int | None = None,
) -> Coupon:
    """Issue one coupon to a member, with a fresh code; audit-logged as ``coupon.issue``.

    Validity is ``[valid_from, valid_to)`` in whole seconds (default: from now, 30 days).  A
    store-restricted coupon's money is in that store's currency.  Effects: one coupon row and
    one audit event, flushed.
    """
    check_offer(offer)
    start = (valid_from or utcnow()).replace(microsecond=0)
    end = (valid_to or start + DEFAULT_VALIDITY).replace(microsecond=0)
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("validity needs a timezone offset")
    if not start < end <= start + MAX_VALIDITY:
        raise InvalidInput("valid_to must be after valid_from, and within three years of it")
    _check_references(session, member_id, offer)
    coupon = Coupon(
        code=_unused_code(session), member_id=member_id, campaign_id=campaign_id,
        kind=OfferKind(offer.kind), percent=offer.percent, amount_minor=offer.amount_minor,
        currency=offer.currency, category_id=offer.category_id, free_sku=offer.free_sku,
        bonus_points=offer.bonus_points, multiplier=offer.multiplier,
        min_spend_minor=offer.min_spend_minor, store_id=offer.store_id,
        exclusive=offer.exclusive, valid_from=start, valid_to=end,
        status=CouponStatus.ISSUED, issued_by_staff_id=staff_id,
    )
    session.add(coupon)
    session.flush()
    record_event(
        session, actor, "coupon.issue", f"member:{member_id}", coupon_id=coupon.id,
        coupon_code=coupon.code, offer=offer_summary(coupon),
        valid_from=start.isoformat(), valid_to=end.isoformat(), store_id=offer.store_id,
    )
    return coupon


def _check_member(session: Session, member_id: int) -> None:
    # members.services.get_member would be an import cycle (members -> cards -> coupons).
    if session.get(Member, member_id) is None:
        raise NotFound(f"no member {member_id}", code_hint="unknown_member")


def _check_references(session: Session, member_id: int, offer: Offer) -> None:
    _check_member(session, member_id)
    if offer.category_id is not None and session.get(Category, offer.category_id) is None:
        raise InvalidInput(f"no category {offer.category_id}")
    if offer.store_id is not None:
        store = session.get(Store, offer.store_id)
        if store is None:
            raise InvalidInput(f"no store {offer.store_id}")
        if offer.currency is not None and offer.currency != store.currency:
            raise InvalidInput(f"store {store.code} sells in {store.currency}, "
                               f"not {offer.currency}")


def _unused_code(session: Session) -> str:
    # 55 random bits: a clash is astronomically rare, but cheap to rule out.
    while True:
        code = new_code()
        if session.scalar(select(Coupon.id).where(Coupon.code == code)) is None:
            return code


# --- reading --------------------------------------------------------------------------------


def find_coupon(session: Session, code: str) -> Coupon:
    """The coupon with this code (any spelling a person might type), or UnknownCoupon."""
    try:
        canonical = normalise_code(code)
    except MalformedCode as exc:
        raise UnknownCoupon(str(exc)) from exc
    coupon = session.scalar(select(Coupon).where(Coupon.code == canonical))
    if coupon is None:
        raise UnknownCoupon()
    return coupon


def list_coupons(
    session: Session, member_id: int, status: CouponStatus | None = None
) -> list[Coupon]:
    """A member's coupons, newest first."""
    _check_member(session, member_id)
    stmt = select(Coupon).where(Coupon.member_id == member_id)
    if status is not None:
        stmt = stmt.where(Coupon.status == status)
    return list(session.scalars(stmt.order_by(Coupon.issued_at.desc(), Coupon.id.desc())))


def active_coupons(
    session: Session, member_id: int, at: dt.datetime, store_id: int | None = None
) -> list[Coupon]:
    """The member's coupons usable now: issued, within validity, for this store or any store.

    With ``store_id`` None, coupons of every store are listed.  Soonest to expire first.
    """
    stmt = select(Coupon).where(
        Coupon.member_id == member_id,
        Coupon.status == CouponStatus.ISSUED,
        Coupon.valid_from <= at,
        Coupon.valid_to > at,
    )
    if store_id is not None:
        stmt = stmt.where(or_(Coupon.store_id.is_(None), Coupon.store_id == store_id))
    return list(session.scalars(stmt.order_by(Coupon.valid_to, Coupon.id)))


def offer_summary(coupon: Coupon) -> dict[str, Any]:
    """The offer in a few keys, for the QR payload and the API: only what is set."""
    summary: dict[str, Any] = {"kind": OfferKind(coupon.kind).value}
    for key, value in (
        ("percent", coupon.percent), ("amount_minor", coupon.amount_minor),
        ("currency", coupon.currency), ("category_id", coupon.category_id),
        ("free_sku", coupon.free_sku), ("bonus_points", coupon.bonus_points),
        ("multiplier", coupon.multiplier),
        ("min_spend_minor", coupon.min_spend_minor or None),
    ):
        if value is not None:
            summary[key] = value
    if coupon.exclusive:
        summary["exclusive"] = True
    return summary


# --- signing --------------------------------------------------------------------------------


def coupon_signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The programme's signing key.  Generated on first use only at the default path (the
    embedded default); a key file named in the settings must exist, because a key made up on
    one web host would not verify coupons printed by another."""
    try:
        return signing.load_private_key(
            settings.coupon_key_path, create=not settings.coupon_signing_key_file
        )
    except signing.KeyFileMissing as exc:
        raise SigningKeyMissing(f"{exc}; create it with `loyalty coupon keygen`") from exc


def coupon_payload(coupon: Coupon, private_key: Ed25519PrivateKey) -> str:
    """The signed text for the coupon's QR code (format in loyalty.coupons.signing)."""
    return signing.sign_payload(
        private_key, code=coupon.code, member_id=coupon.member_id, offer=offer_summary(coupon),
        valid_from=coupon.valid_from, valid_to=coupon.valid_to, store_id=coupon.store_id,
    )


@dataclass(frozen=True)
class CouponCard:
    """A coupon as shown to people and tills: the row and its signed QR payload."""

    coupon: Coupon
    qr_payload: str
    language: str | None = None  # the member's: a campaign coupon's "why" is in it

    @property
    def offer(self) -> dict[str, Any]:
        return offer_summary(self.coupon)

    @property
    def why(self) -> str | None:
        """A campaign coupon's "why did I get this?" sentence (docs/CAMPAIGNS.md)."""
        if self.coupon.explanation is None:
            return None
        from loyalty.campaigns.explain import explain  # campaigns build on coupons

        return explain(self.coupon.explanation, self.language)


def coupon_card(coupon: Coupon, private_key: Ed25519PrivateKey,
                language: str | None = None) -> CouponCard:
    return CouponCard(coupon, coupon_payload(coupon, private_key), language)


def member_language(session: Session, member_id: int) -> str | None:
    """The language the member reads (for a coupon's explanation)."""
    return session.scalar(select(Member.language).where(Member.id == member_id))


# --- checkout -------------------------------------------------------------------------------


def price_coupons(
    session: Session,
    codes: Sequence[str],
    *,
    member_id: int,
    store_id: int,
    currency: str,
    at: dt.datetime,
    lines: Sequence[PricedLine],
) -> CouponOutcome:
    """Check and price the coupons for a basket, without changing anything.

    Raises CouponRefused(reason) for the first coupon that cannot be used (reasons in
    loyalty.coupons.engine).  The coupons come back in the order the codes were given.
    """
    if not codes:
        return CouponOutcome()
    canonical = _canonical_codes(codes)
    found = {
        c.code: c for c in session.scalars(select(Coupon).where(Coupon.code.in_(canonical)))
    }
    missing = [code for code in canonical if code not in found]
    if missing:
        # Never echo what was sent: a payment card number typed here must not come back.
        raise refuse("unknown", None, "no coupon has this code")
    coupons = [found[code] for code in canonical]
    basket = BasketView(member_id, store_id, currency, at, lines)
    pricing = evaluate(coupons, basket)
    return CouponOutcome(coupons, pricing.line_discounts, pricing.bonus_points)


def _canonical_codes(codes: Sequence[str]) -> list[str]:
    canonical: list[str] = []
    for raw in codes:
        try:
            code = normalise_code(raw)
        except MalformedCode as exc:
            raise refuse("unknown", None, f"not a coupon code: {exc}") from exc
        if code in canonical:
            raise refuse("duplicate", code, "the same coupon is in the basket twice")
        canonical.append(code)
    return canonical


def redeem_coupons(
    session: Session, coupons: Sequence[Coupon], basket_id: int, at: dt.datetime
) -> None:
    """Mark the coupons used by this basket; exactly one concurrent caller wins per coupon.

    Each coupon is taken by a conditional UPDATE (``issued`` -> ``redeemed`` WHERE status is
    still ``issued``): on PostgreSQL a second writer waits for the first's row lock and then
    finds the condition false; on SQLite writers are serialised by BEGIN IMMEDIATE.  A lost
    race raises CouponRefused("used"), and the caller's transaction rolls back.  Coupons are
    updated in id order, so two baskets sharing coupons lock them in the same order.
    """
    for coupon in sorted(coupons, key=lambda c: c.id):
        result = session.execute(
            update(Coupon)
            .where(Coupon.id == coupon.id, Coupon.status == CouponStatus.ISSUED)
            .values(status=CouponStatus.REDEEMED, redeemed_at=at, redeemed_basket_id=basket_id),
            execution_options={"synchronize_session": False},
        )
        if result.rowcount != 1:
            now = session.scalar(select(Coupon.status).where(Coupon.id == coupon.id))
            reason = "void" if now == CouponStatus.VOID else "used"
            raise refuse(reason, coupon.code, "this coupon was used by another checkout")
        _set_loaded(coupon, status=CouponStatus.REDEEMED, redeemed_at=at,
                    redeemed_basket_id=basket_id)


def restore_coupons_for_return(
    session: Session, basket_id: int, fully_returned: bool, at: dt.datetime
) -> list[Coupon]:
    """Give back the basket's coupons where the written return policy allows.

    Policy (docs/COUPONS.md): a coupon comes back -- ``issued`` again, its basket cleared,
    an audit event ``coupon.restore`` -- only when the basket is fully returned and the coupon
    is still within its validity at ``at``.  Otherwise it stays used (audit event
    ``coupon.not_restored`` on a full return).  A partial return never restores.
    """
    if not fully_returned:
        return []
    used = session.scalars(
        select(Coupon)
        .where(Coupon.redeemed_basket_id == basket_id, Coupon.status == CouponStatus.REDEEMED)
        .order_by(Coupon.id)
    ).all()
    restored = []
    for coupon in used:
        subject = f"member:{coupon.member_id}"
        if not coupon.valid_from <= at < coupon.valid_to:
            record_event(session, SYSTEM_ACTOR, "coupon.not_restored", subject,
                         coupon_code=coupon.code, basket_id=basket_id, reason="expired")
            continue
        if _restore(session, coupon, basket_id):
            record_event(session, SYSTEM_ACTOR, "coupon.restore", subject,
                         coupon_code=coupon.code, basket_id=basket_id)
            restored.append(coupon)
    return restored


def _restore(session: Session, coupon: Coupon, basket_id: int) -> bool:
    result = session.execute(
        update(Coupon)
        .where(Coupon.id == coupon.id, Coupon.status == CouponStatus.REDEEMED,
               Coupon.redeemed_basket_id == basket_id)
        .values(status=CouponStatus.ISSUED, redeemed_at=None, redeemed_basket_id=None),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount != 1:
        return False
    _set_loaded(coupon, status=CouponStatus.ISSUED, redeemed_at=None, redeemed_basket_id=None)
    return True


def _set_loaded(coupon: Coupon, **values: Any) -> None:
    """Tell the ORM what the UPDATE wrote, without another SELECT or a pending change."""
    for name, value in values.items():
        set_committed_value(coupon, name, value)
