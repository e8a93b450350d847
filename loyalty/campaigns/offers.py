"""A campaign's offer: the fields of :class:`loyalty.coupons.services.Offer` as JSON, checked the
way a coupon issued by hand is (``check_offer``), in the campaign's currency, and what one coupon
can cost at worst (docs/CAMPAIGNS.md, "Offers" and "Budget").

Pure apart from the reads :func:`worst_case_minor` makes (a product's price, the largest recent
basket): no flask, no celery.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.baskets.models import Basket
from loyalty.catalog.models import Category, Product
from loyalty.coupons.models import OfferKind
from loyalty.coupons.services import Offer, check_offer
from loyalty.db import INT32_MAX
from loyalty.errors import CurrencyMismatch, InvalidInput
from loyalty.stores.models import Store

OFFER_FIELDS = frozenset(f.name for f in dataclasses.fields(Offer))
# The window whose largest basket bounds a percent (or multiplier) coupon's cost when the campaign
# names none.
PERCENT_REFERENCE_DAYS = 365


def parse_offer(data: Any, currency: str) -> Offer:
    """The offer ``data`` describes, in ``currency``, or InvalidInput saying what is wrong.

    Money (``amount_minor``, ``min_spend_minor``) is in the campaign's currency: an offer that
    names another currency is refused (``currency_mismatch``); one that names none gets the
    campaign's.  Unknown keys are refused, not ignored (a typo would otherwise make a bigger
    discount than meant).
    """
    if not isinstance(data, dict):
        raise InvalidInput("offer: expected an object of coupon offer fields")
    unknown = sorted(set(data) - OFFER_FIELDS)
    if unknown:
        raise InvalidInput(f"offer: unknown field {unknown[0]!r}; known: "
                           f"{', '.join(sorted(OFFER_FIELDS))}")
    if data.get("currency") not in (None, currency):
        raise CurrencyMismatch(f"offer: money in {data['currency']!r}, but the campaign is in "
                               f"{currency}")
    try:
        kind = OfferKind(data.get("kind"))
    except ValueError:
        raise InvalidInput(f"offer: kind is one of {', '.join(OfferKind)}") from None
    values = {**data, "kind": kind}
    _check_types(values)
    if values.get("amount_minor") or values.get("min_spend_minor"):
        values["currency"] = currency
    offer = Offer(**values)
    check_offer(offer)
    return offer


def _check_types(values: dict[str, Any]) -> None:
    """Each field's JSON type, and integers within the columns' range."""
    for name in ("percent", "amount_minor", "category_id", "bonus_points", "multiplier",
                 "min_spend_minor", "store_id"):
        value = values.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"offer: {name} must be an integer")
        if not -INT32_MAX <= value <= INT32_MAX:
            raise InvalidInput(f"offer: {name} is out of range")
    if values.get("percent") is not None and not 1 <= values["percent"] <= 100:
        raise InvalidInput("offer: percent must be between 1 and 100")
    for name in ("free_sku", "currency"):
        value = values.get(name)
        if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 64
                                  or "\x00" in value):
            raise InvalidInput(f"offer: {name} must be a short text")
    if not isinstance(values.get("exclusive", False), bool):
        raise InvalidInput("offer: exclusive must be true or false")
    values.setdefault("min_spend_minor", 0)
    if values["min_spend_minor"] is None:
        values["min_spend_minor"] = 0


def check_offer_references(session: Session, offer: Offer, currency: str) -> None:
    """The category, store and free item the offer names exist (and the store sells in the
    campaign's currency)."""
    if offer.category_id is not None and session.get(Category, offer.category_id) is None:
        raise InvalidInput(f"offer: no category {offer.category_id}")
    if offer.store_id is not None:
        store = session.get(Store, offer.store_id)
        if store is None:
            raise InvalidInput(f"offer: no store {offer.store_id}")
        if store.currency != currency:
            raise CurrencyMismatch(f"offer: store {store.code} sells in {store.currency}, "
                                   f"not {currency}")
    if offer.free_sku is not None and _free_item_price(session, offer.free_sku, currency) is None:
        raise InvalidInput(f"offer: no product {offer.free_sku!r} priced in {currency}")


def _free_item_price(session: Session, sku: str, currency: str) -> int | None:
    return session.scalar(select(Product.price_minor)
                          .where(Product.sku == sku, Product.currency == currency))


def offer_to_json(offer: Offer) -> dict[str, Any]:
    """What the campaign stores: only the fields that are set (``kind`` as its value)."""
    out: dict[str, Any] = {"kind": OfferKind(offer.kind).value}
    for f in dataclasses.fields(Offer):
        value = getattr(offer, f.name)
        if f.name != "kind" and value not in (None, 0, False):
            out[f.name] = value
    return out


def worst_case_minor(session: Session, offer: Offer, currency: str, *,
                     parameters: dict[str, Any] | None = None, point_value_minor: int = 1,
                     now: dt.datetime) -> int:
    """The most one coupon of this offer can cost the retailer, in minor units of ``currency``.

    * ``amount_off``: the amount (the engine never takes more than the lines' net).
    * ``percent_off``: the percent of a reference basket, rounded up: the campaign's
      ``max_basket_minor`` parameter, else the largest basket in that currency over the last
      365 days (0 when there is none: the dry run says so).
    * ``free_item``: the item's catalogue price.
    * ``bonus_points``: the points at ``point_value_minor`` each (what they are worth redeemed).
    * ``points_multiplier``: (multiplier - 1) x a reference basket's points, at
      ``point_value_minor`` each: the campaign's ``max_basket_points`` parameter, else the most
      points one basket in that currency earned over the last 365 days (0 when none).  A
      category-scoped multiplier is bounded by the whole basket's points all the same.

    Stored on the campaign at launch (``cost_per_coupon_minor``); issuing commits the budget at
    that rate, so the cap holds whatever members then buy.
    """
    kind = OfferKind(offer.kind)
    if kind == OfferKind.AMOUNT_OFF:
        return offer.amount_minor or 0
    if kind == OfferKind.FREE_ITEM:
        return _free_item_price(session, offer.free_sku or "", currency) or 0
    if kind == OfferKind.BONUS_POINTS:
        return (offer.bonus_points or 0) * point_value_minor
    if kind == OfferKind.POINTS_MULTIPLIER:
        points = _reference(session, parameters, "max_basket_points", Basket.points_earned,
                            currency, now)
        return ((offer.multiplier or 1) - 1) * points * point_value_minor
    reference = _reference(session, parameters, "max_basket_minor", Basket.subtotal_minor,
                           currency, now)
    return math.ceil((offer.percent or 0) * reference / 100)


def _reference(session: Session, parameters: dict[str, Any] | None, name: str,
               column: Any, currency: str, now: dt.datetime) -> int:
    """The campaign's parameter ``name``, else the largest ``column`` of a basket in
    ``currency`` over the last :data:`PERCENT_REFERENCE_DAYS` days (0 when there is none)."""
    reference = (parameters or {}).get(name)
    if reference is not None:
        return int(reference)
    since = now - dt.timedelta(days=PERCENT_REFERENCE_DAYS)
    return session.scalar(select(func.max(column))
                          .where(Basket.currency == currency, Basket.occurred_at >= since)) or 0
