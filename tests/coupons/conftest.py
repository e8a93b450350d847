"""Coupons on the small programme of tests/checkout (one AED store, a member, grocery)."""

from __future__ import annotations

import datetime as dt

import pytest

from loyalty.coupons.models import Coupon, OfferKind
from loyalty.coupons.services import Offer, issue_coupon
from loyalty.db import utcnow
from tests.checkout.conftest import Shop, basket, commit, shop  # noqa: F401 - fixture

__all__ = ["basket", "commit", "give", "shop"]


def give(db, shop: Shop, kind: OfferKind = OfferKind.PERCENT_OFF, *,  # type: ignore[no-untyped-def]
         member_id: int | None = None, valid_from: dt.datetime | None = None,
         valid_to: dt.datetime | None = None, **terms) -> Coupon:
    """Issue a coupon (10% off the basket unless told otherwise) and commit it."""
    if kind == OfferKind.PERCENT_OFF:
        terms.setdefault("percent", 10)
    coupon = issue_coupon(
        db, member_id or shop.member_id, Offer(kind=kind, **terms), staff_id=None,
        actor="test", valid_from=valid_from or utcnow() - dt.timedelta(days=1),
        valid_to=valid_to,
    )
    db.commit()
    return coupon


@pytest.fixture
def other_member(db, settings):  # type: ignore[no-untyped-def]
    from tests.factories import make_member

    member, card = make_member(db, settings, name="Omar Farouk", phone="+971501234567")
    db.commit()
    return member
