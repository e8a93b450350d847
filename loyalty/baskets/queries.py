"""Questions about a member's baskets asked in SQL, shared by the slices that need the answer
(messaging picks a store's clock with it, segments select audiences with it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from loyalty.baskets.models import Basket


def home_store(member_id: Any) -> Select[tuple[int]]:
    """The member's home store: the store of most of their baskets; a tie goes to the one
    visited last, then to the lower id, so the answer is stable.  No row without baskets.

    ``member_id``: an id, or a column (``Member.id``) to use it as a correlated subquery."""
    return (select(Basket.store_id).where(Basket.member_id == member_id)
            .group_by(Basket.store_id)
            .order_by(func.count().desc(), func.max(Basket.occurred_at).desc(), Basket.store_id)
            .limit(1))
