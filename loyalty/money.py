"""Money and points arithmetic, and every rounding rule of the programme, in one place.

Money is an integer count of minor units with an ISO 4217 currency; points are whole numbers.
No float ever touches a price, a balance or the ledger.

The rounding rules (also in docs/POINTS.md, "Rounding"):

1. **Earning** is computed exactly, as fractions, line by line, then summed over the basket, and
   the basket total is rounded *down* to whole points once (``floor``).  A member never gets a
   fraction of a point, and splitting a basket into lines never changes what it earns.
2. **Allocation** of a whole-number total over lines (points earned per line, points redeemed
   per line) uses the largest-remainder method: each line gets the floor of its exact share and
   the leftover units go to the lines with the largest remainders, ties to the earlier line.
   The parts always add up to the total.
3. **Returns** reverse pro rata, cumulatively: after a return the total reversed on a line is
   ``floor(line_points * returned_qty / sold_qty)``, and exactly ``line_points`` once the line is
   fully returned.  So the sum reversed never exceeds what was earned and never drifts.
4. **Redemption value** is ``points * point_value_minor``; the most points a basket accepts is
   ``floor(payable_minor / point_value_minor)``, so redemption never pays more than the basket.
5. **Percent discounts** (coupons) are rounded *down* to the minor unit, once per coupon:
   ``floor(eligible_minor * percent / 100)``; the result is then allocated over the eligible
   lines by rule 2, weighted by what each line still costs, so no line is discounted below zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

# ISO 4217 minor-unit exponents that differ from 2 and matter to our markets.
_EXPONENTS = {
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "IRR": 2, "JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "VND": 0, "XOF": 0, "XAF": 0,
}
KNOWN_CURRENCIES = frozenset(
    {"AED", "SAR", "QAR", "EGP", "MAD", "DZD", "LBP", "SYP", "YER", "AFN", "PKR", "TRY", "USD",
     "EUR", "GBP", "CHF", "CAD", "AUD", "INR", "CNY", "SEK", "NOK", "DKK"} | set(_EXPONENTS)
)


def minor_exponent(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


def minor_per_unit(currency: str) -> int:
    """How many minor units make one major unit (100 for USD, 1000 for KWD)."""
    return 10 ** minor_exponent(currency)


def format_money(amount_minor: int, currency: str) -> str:
    exp = minor_exponent(currency)
    sign = "-" if amount_minor < 0 else ""
    whole, frac = divmod(abs(amount_minor), 10**exp)
    return f"{sign}{whole}.{frac:0{exp}d} {currency}" if exp else f"{sign}{whole} {currency}"


def floor_points(exact: Fraction) -> int:
    """Rule 1: whole points, rounded down, once per basket."""
    return int(exact.__floor__())


def allocate(total: int, weights: Sequence[Fraction | int]) -> list[int]:
    """Rule 2: split a whole ``total`` over ``weights`` by largest remainder; parts sum to total.

    Worked in integers: the weights are brought to a common denominator (shares do not change
    when every weight is scaled alike), so each line's exact share ``total * w / sum`` is an
    integer quotient and remainder over the same divisor, and the remainders compare as
    integers.  The result is the same as with fractions, at a fraction of the cost.
    """
    if total < 0:
        return [-p for p in allocate(-total, weights)]
    if not weights:
        return []
    whole = _common_integers(weights)
    weight_sum = sum(whole)
    if weight_sum == 0:
        parts = [0] * len(weights)
        parts[0] = total
        return parts
    if weight_sum < 0:  # same shares with every sign flipped; the divisor is then positive
        whole, weight_sum = [-w for w in whole], -weight_sum
    scaled = [total * w for w in whole]
    parts = [s // weight_sum for s in scaled]
    leftover = total - sum(parts)
    if leftover:
        by_remainder = sorted(range(len(weights)), key=lambda i: (-(scaled[i] % weight_sum), i))
        for i in by_remainder[:leftover]:
            parts[i] += 1
    return parts


def _common_integers(weights: Sequence[Fraction | int]) -> list[int]:
    """``weights`` times the least common multiple of their denominators: all integers."""
    if all(type(w) is int for w in weights):
        return list(weights)  # type: ignore[arg-type]
    exact = [w if isinstance(w, Fraction | int) else Fraction(w) for w in weights]
    common = math.lcm(*(w.denominator for w in exact))
    return [w.numerator * (common // w.denominator) for w in exact]


def cumulative_share(line_total: int, done_qty: int, sold_qty: int) -> int:
    """Rule 3: how much of ``line_total`` belongs to ``done_qty`` of ``sold_qty`` units."""
    if sold_qty <= 0:
        return 0
    if done_qty >= sold_qty:
        return line_total
    return line_total * done_qty // sold_qty


def max_points_for(payable_minor: int, point_value_minor: int) -> int:
    """Rule 4: the most points a payable amount can absorb."""
    return max(0, payable_minor) // point_value_minor


def percent_of(amount_minor: int, percent: int) -> int:
    """Rule 5: ``percent`` % of a non-negative amount, rounded down to the minor unit."""
    if amount_minor < 0 or not 0 <= percent <= 100:
        raise ValueError("percent_of needs an amount >= 0 and a percent in 0..100")
    return amount_minor * percent // 100
