"""The offline redemption cap, as a table: min(balance - pending, cap), >= 0, 0 when stale."""

from __future__ import annotations

import datetime as dt

import pytest

from pos_agent.offline import offline_redeemable

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


@pytest.mark.parametrize(("balance", "pending", "cap", "age", "expected"), [
    (1000, 0, 500, H, 500),             # the cap binds
    (300, 0, 500, H, 300),              # the balance binds
    (1000, 700, 500, H, 300),           # balance less pending binds
    (1000, 500, 500, H, 500),           # exactly the cap left
    (1000, 1000, 500, H, 0),            # all pending
    (1000, 1200, 500, H, 0),            # more pending than balance: never negative
    (-50, 0, 500, H, 0),                # an overdrawn member (flagged at HQ) gets nothing
    (1000, 0, 0, H, 0),                 # cap 0 switches offline redemption off
    (1000, 0, 500, dt.timedelta(0), 500),      # fetched just now
    (1000, 0, 500, 24 * H, 500),               # exactly 24 h: not yet over
    (1000, 0, 500, 24 * H + dt.timedelta(seconds=1), 0),  # over 24 h: nothing
    (1000, 0, 500, 72 * H, 0),
    (1000, 0, 500, -dt.timedelta(minutes=4), 500),  # small clock skew is tolerated
    (1000, 0, 500, -dt.timedelta(hours=2), 0),      # fetched "in the future": age unknown
])
def test_offline_redeemable(balance: int, pending: int, cap: int, age: dt.timedelta,
                            expected: int) -> None:
    assert offline_redeemable(cached_balance=balance, pending=pending, cap=cap,
                              fetched_at=NOW - age, now=NOW) == expected


def test_max_age_is_configurable() -> None:
    kw = {"cached_balance": 100, "pending": 0, "cap": 500, "now": NOW}
    assert offline_redeemable(**kw, fetched_at=NOW - 2 * H, max_age=H) == 0
    assert offline_redeemable(**kw, fetched_at=NOW - 2 * H, max_age=3 * H) == 100


def test_the_fetch_time_may_be_in_another_zone() -> None:
    dubai = dt.timezone(dt.timedelta(hours=4))
    fetched = (NOW - 23 * H).astimezone(dubai)
    assert offline_redeemable(cached_balance=100, pending=0, cap=500, fetched_at=fetched,
                              now=NOW) == 100


@pytest.mark.parametrize(("kw", "message"), [
    ({"cap": -1}, "negative"),
    ({"pending": -1}, "negative"),
    ({"fetched_at": dt.datetime(2026, 11, 23, 11, 0)}, "timezone-aware"),
    ({"now": dt.datetime(2026, 11, 23, 12, 0)}, "timezone-aware"),
])
def test_bad_input_is_refused(kw: dict, message: str) -> None:
    args = {"cached_balance": 100, "pending": 0, "cap": 500, "fetched_at": NOW - H, "now": NOW,
            **kw}
    with pytest.raises(ValueError, match=message):
        offline_redeemable(**args)
