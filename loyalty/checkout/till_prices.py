"""What a sale's prices tell the back office, without refusing it (docs/POINTS.md, "Limits").

A till's prices are the sale's truth: the customer paid them.  But a line priced far from the
catalog's price (a typing error, a stale till, a forged quote) is flagged for a person to look
at, and a SKU the catalog does not know is counted, per store, for the catalog team.  The
points cap, which does refuse, is checked while pricing (:mod:`loyalty.checkout.pricing`).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert
from sqlalchemy.orm import Session

from loyalty.catalog.services import record_unknown_skus
from loyalty.checkout.pricing import PricedBasket, PricedBasketLine
from loyalty.config import Settings
from loyalty.ledger.models import ReviewFlag

PRICE_FLAG = "price_departs_from_catalog"
_INSERT_FLAGS = insert(ReviewFlag.__table__)


def review_till_prices(
    session: Session, settings: Settings, priced: PricedBasket, basket_id: int
) -> None:
    """Flag the basket's lines priced beyond ``price_tolerance_percent`` from the catalog, and
    count its unknown SKUs.  No statement at all when every line is known and near its
    catalog price (the common case).  Flushes (executes)."""
    tolerance = settings.price_tolerance_percent
    departing = [line for line in priced.lines if _departs(line, tolerance)]
    if departing:
        session.connection().execute(_INSERT_FLAGS, [
            {"member_id": priced.member.id, "reason": PRICE_FLAG, "basket_id": basket_id,
             "detail": _detail(line), "created_at": priced.occurred_at}
            for line in departing
        ])
    record_unknown_skus(session, priced.store.id, _unknown(priced.lines), priced.occurred_at)


def _departs(line: PricedBasketLine, tolerance_percent: int) -> bool:
    catalog = line.catalog_price_minor
    if catalog is None:
        return False
    return abs(line.unit_price_minor - catalog) * 100 > tolerance_percent * catalog


def _detail(line: PricedBasketLine) -> str:
    catalog = line.catalog_price_minor
    assert catalog is not None
    away = f" ({(line.unit_price_minor - catalog) * 100 // catalog:+d}%)" if catalog else ""
    return (f"line {line.line_no}: {line.sku} sold at {line.unit_price_minor}, "
            f"catalog price {catalog}{away}")[:500]


def _unknown(lines: Iterable[PricedBasketLine]) -> dict[str, tuple[int, int]]:
    """Lines and units per SKU the catalog does not know."""
    counts: dict[str, tuple[int, int]] = {}
    for line in lines:
        if line.product_id is None:
            seen, units = counts.get(line.sku, (0, 0))
            counts[line.sku] = (seen + 1, units + line.quantity)
    return counts
