"""The earning engine, table-tested without a database."""

from fractions import Fraction

import pytest

from loyalty.money import allocate, cumulative_share
from loyalty.rules.engine import EarningLine, Rule, earn
from loyalty.rules.models import RuleKind

BASE = Rule(RuleKind.BASE, points_per_unit=Fraction(1))


def lines(*specs):  # type: ignore[no-untyped-def]
    return [EarningLine(n, sku, cat, minor) for n, (sku, cat, minor) in enumerate(specs, 1)]


@pytest.mark.parametrize(
    ("rules", "basket", "tier", "total"),
    [
        ([BASE], [("A", 1, 1999)], 1, 19),  # rounded down once
        ([BASE], [("A", 1, 150), ("B", 1, 150)], 1, 3),  # per basket, not per line (1+1)
        ([], [("A", 1, 10_000)], 1, 0),  # no base rule: nothing
        ([BASE, Rule(RuleKind.CATEGORY, multiplier=Fraction(2), category_id=1)],
         [("A", 1, 1000), ("B", 2, 1000)], 1, 30),
        ([BASE, Rule(RuleKind.CATEGORY, multiplier=Fraction(2), category_id=1),
          Rule(RuleKind.PRODUCT, multiplier=Fraction(3), sku="A")],
         [("A", 1, 1000)], 1, 30),  # the product rule is more specific than the category's
        ([BASE, Rule(RuleKind.STORE, multiplier=Fraction(3, 2), store_id=7)],
         [("A", 1, 1000)], 1, 15),
        ([BASE, Rule(RuleKind.STORE, multiplier=Fraction(3, 2), store_id=8)],
         [("A", 1, 1000)], 1, 10),  # another store's rule does not apply
        ([BASE, Rule(RuleKind.EXCLUSION, category_id=9)],
         [("A", 9, 5000), ("B", 1, 1000)], 1, 10),
        ([BASE, Rule(RuleKind.EXCLUSION, sku="B")], [("B", 1, 5000)], 1, 0),
        ([Rule(RuleKind.BASE, min_spend_minor=2000)], [("A", 1, 1999)], 1, 0),
        ([Rule(RuleKind.BASE, min_spend_minor=2000)], [("A", 1, 2000)], 1, 20),
        ([BASE], [("A", 1, 1000)], Fraction(3, 2), 15),  # tier multiplier
    ],
)
def test_earning_table(rules, basket, tier, total):
    result = earn(lines(*basket), rules, store_id=7, minor_per_unit=100,
                  tier_multiplier=Fraction(tier))
    assert result.total == total
    assert sum(result.per_line.values()) == total


def test_three_decimal_currency():
    result = earn(lines(("A", 1, 12_345)), [BASE], store_id=1, minor_per_unit=1000)
    assert result.total == 12  # 12.345 KWD


@pytest.mark.parametrize(("total", "weights", "parts"), [
    (10, [1, 1, 1], [4, 3, 3]),
    (0, [5, 5], [0, 0]),
    (7, [0, 0], [7, 0]),
    (100, [Fraction(1, 3), Fraction(2, 3)], [33, 67]),
    (-5, [1, 1], [-3, -2]),
])
def test_allocation_sums_to_total(total, weights, parts):
    assert allocate(total, weights) == parts


def test_cumulative_share_never_exceeds_and_completes():
    steps = [cumulative_share(10, done, 3) for done in range(4)]
    assert steps == [0, 3, 6, 10]
