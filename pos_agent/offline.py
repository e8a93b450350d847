"""How many points a member may redeem while the till cannot reach the back office.

A pure function, so the rule can be read in one place and tested as a table:

    redeemable = min(cached balance - redemptions still pending, configured cap), at least 0,
                 and 0 when the cached member data is older than ``max_age`` (24 h)

"Pending" are redemptions this till made that the cached balance does not show yet (see
:meth:`pos_agent.outbox.Outbox.pending_redemptions`).  The cap bounds the loss if the member
spends the same points at another, online till meanwhile: the back office records the sale as the
till made it and flags the overdraft for review.
"""

from __future__ import annotations

import datetime as dt

MAX_AGE = dt.timedelta(hours=24)
# A cached answer stamped later than this past "now" means the clock moved: its age is unknown.
CLOCK_SKEW = dt.timedelta(minutes=5)


def offline_redeemable(*, cached_balance: int, pending: int, cap: int,
                       fetched_at: dt.datetime, now: dt.datetime,
                       max_age: dt.timedelta = MAX_AGE) -> int:
    """Most points redeemable offline; see the module docstring.  Never negative.

    Raises ``ValueError`` for a negative cap or pending sum, or a naive datetime.
    """
    if cap < 0 or pending < 0:
        raise ValueError("the cap and the pending redemptions cannot be negative")
    if fetched_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("fetched_at and now must be timezone-aware")
    age = now - fetched_at
    if age > max_age or age < -CLOCK_SKEW:
        return 0
    return max(0, min(cached_balance - pending, cap))
