"""The holdout: which members of a campaign form its control group (docs/CAMPAIGNS.md).
Re-exported by :mod:`loyalty.campaigns.issuing`, which plans runs with it.

The bucket is a hash of (campaign, member) in 0..99, computed with integer arithmetic only,
so Python and SQL (SQLite and PostgreSQL) give the same value: every intermediate value stays
below 2**63 (a product of two numbers below 2**31), and nothing is negative::

    x1 = (campaign * A + member * B + C) mod P    -- a bijection of the member id mod P
    x2 = (x1 * x1 + D) mod P                       -- two rounds of squaring mod P mix the
    x3 = (x2 * x2 + E) mod P                          ids: neighbours and parity are lost
    bucket = x3 mod 100

P = 2**31 - 1 is prime; ids are below it (INT32 columns).  Squaring alone would keep small
ids small (no wrap below 46,341), hence the multiplication by B first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement, cast, literal_column

_P = 2_147_483_647
_A, _B, _C, _D, _E = 1_597_334_677, 1_103_515_245, 362_437, 1_013_904_223, 69_069


def holdout_bucket(campaign_id: int, member_id: int) -> int:
    """The member's bucket for this campaign, 0..99: deterministic and stable across runs."""
    x1 = ((campaign_id * _A) % _P + member_id * _B + _C) % _P
    x2 = (x1 * x1 + _D) % _P
    x3 = (x2 * x2 + _E) % _P
    return x3 % 100


def is_held_out(campaign_id: int, member_id: int, holdout_percent: int) -> bool:
    """A member is in the control group iff their bucket is below the holdout percentage."""
    return holdout_bucket(campaign_id, member_id) < holdout_percent


def holdout_bucket_sql(campaign_id: Any, member_id: Any) -> ColumnElement[int]:
    """:func:`holdout_bucket` as a SQL expression over ids or columns (SQLite, PostgreSQL).

    Computed in BIGINT: PostgreSQL would overflow INTEGER on the first product.
    """

    def num(value: int) -> Any:
        return literal_column(str(value), BigInteger)

    campaign = cast(campaign_id, BigInteger)
    member = cast(member_id, BigInteger)
    x1 = ((campaign * num(_A)) % num(_P) + member * num(_B) + num(_C)) % num(_P)
    x2 = (x1 * x1 + num(_D)) % num(_P)
    x3 = (x2 * x2 + num(_E)) % num(_P)
    return x3 % num(100)
