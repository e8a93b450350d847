"""Tiers: upgrade on spend at once, downgrade one step per review."""

import datetime as dt

from loyalty.db import utcnow
from loyalty.tiers.services import add_tier, review_tier, upgrade_tier
from tests.checkout.conftest import basket, commit, shop  # noqa: F401


def test_upgrade_on_spend_and_stepwise_downgrade(client, db, shop):  # noqa: F811
    silver = add_tier(db, "silver", "Silver", 1, 10_000, 1000)
    gold = add_tier(db, "gold", "Gold", 2, 50_000, 1500)
    platinum = add_tier(db, "platinum", "Platinum", 3, 100_000, 2000)
    db.commit()
    big = basket(shop, [{"sku": "TV", "quantity": 1, "unit_price_minor": 120_000}])
    first = commit(client, shop, big, "tv").json
    assert first["points_earned"] == 1200  # earned before the upgrade, at x1
    from loyalty.members.models import Member

    member = db.get(Member, shop.member_id)
    db.refresh(member)
    assert member.tier_id == platinum.id
    db.commit()  # end the read: SQLite writers wait for open transactions
    second = commit(client, shop, basket(shop), "milk").json
    assert second["points_earned"] == 34  # 17 AED at x2
    # Fourteen months later nothing qualifies: one step down per review.
    later = utcnow() + dt.timedelta(days=420)
    assert review_tier(db, member, later).id == gold.id
    assert review_tier(db, member, later).id == silver.id
    assert review_tier(db, member, later) is None
    assert upgrade_tier(db, member, later) is None
