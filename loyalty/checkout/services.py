"""The checkout's services, the heart of the till's conversation: quote and commit a basket,
return items.  Each lives in its own module; this is the slice's one front door.

* :mod:`loyalty.checkout.pricing`: what a basket costs and earns (quote; shared by commit);
* :mod:`loyalty.checkout.commit`: storing a sale and posting its points;
* :mod:`loyalty.checkout.returns`: taking items back.

Every one takes ``now``, the caller's clock: the request's time, or a replayed sale's own time
(the demo seed), so nothing needs to move the process's clock.
"""

from __future__ import annotations

from loyalty.checkout.commit import Receipt, commit_checkout
from loyalty.checkout.pricing import (
    MAX_LINES,
    MAX_QUANTITY,
    MAX_SKU_LENGTH,
    MAX_UNIT_PRICE_MINOR,
    PREFETCH_CHUNK,
    BasketIn,
    LineIn,
    PricedBasket,
    PricedBasketLine,
    prefetch_catalog_ids,
    price_basket,
    quote_checkout,
)
from loyalty.checkout.returns import ReturnLineIn, ReturnResult, return_items

__all__ = [
    "MAX_LINES", "MAX_QUANTITY", "MAX_SKU_LENGTH", "MAX_UNIT_PRICE_MINOR", "PREFETCH_CHUNK",
    "BasketIn", "LineIn", "PricedBasket", "PricedBasketLine", "Receipt", "ReturnLineIn",
    "ReturnResult", "commit_checkout", "prefetch_catalog_ids", "price_basket", "quote_checkout",
    "return_items",
]
