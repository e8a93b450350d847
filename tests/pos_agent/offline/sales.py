"""Sales as the till sends them, for the offline tests (light: the kill -9 child imports it)."""

from __future__ import annotations

PRODUCTS = (("MILK", "Milk 1L", 650, "4006381333931"), ("BREAD", "Bread", 400, "96385074"),
            ("RICE", "Rice 5kg", 3200, "036000291452"), ("DATES", "Dates 1kg", 2500, None),
            ("TEA", "Tea 100 bags", 1200, None))


def sale_body(card: str, ref: str, *, lines: int = 2, redeem: int = 0,
              currency: str = "AED") -> dict:
    """A commit body as the till sends it; ``ref`` (external_ref) names the sale in tests."""
    skus = [p[0] for p in PRODUCTS]
    return {
        "currency": currency,
        "card_number": card,
        "external_ref": ref,
        "redeem_points": redeem,
        "lines": [{"sku": skus[n % len(skus)], "quantity": 1 + n % 2,
                   "unit_price_minor": PRODUCTS[n % len(PRODUCTS)][2]} for n in range(lines)],
    }
