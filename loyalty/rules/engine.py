"""The earning engine: a basket and the rules in force -> points per line.  Pure: no database.

How a line's rate is formed (docs/POINTS.md, "Earning"):

* the BASE rule for the currency gives points per major currency unit (a fraction);
* a STORE rule multiplies every line of baskets in that store;
* a PRODUCT rule multiplies its SKU's lines; otherwise a CATEGORY rule multiplies its
  category's lines (the product rule is the more specific and wins over the category's);
* the member's tier multiplies everything;
* an EXCLUSION rule (by SKU or category) makes a line earn nothing;
* a basket whose eligible spend is below the base rule's minimum earns nothing.

Points are exact fractions until the basket total, rounded down once (loyalty.money rule 1),
then allocated back over lines by largest remainder (rule 2) so returns can reverse per line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from loyalty.money import allocate, floor_points
from loyalty.rules.models import RuleKind


@dataclass(frozen=True)
class Rule:
    kind: RuleKind
    points_per_unit: Fraction = Fraction(1)
    min_spend_minor: int = 0
    multiplier: Fraction = Fraction(1)
    category_id: int | None = None
    sku: str | None = None
    store_id: int | None = None


@dataclass(frozen=True)
class EarningLine:
    line_no: int
    sku: str
    category_id: int | None
    eligible_minor: int  # what the customer paid for the line in money


@dataclass(frozen=True)
class Earning:
    total: int
    per_line: dict[int, int]


def earn(
    lines: Sequence[EarningLine],
    rules: Sequence[Rule],
    *,
    store_id: int,
    minor_per_unit: int,
    tier_multiplier: Fraction = Fraction(1),
) -> Earning:
    base = next((r for r in rules if r.kind == RuleKind.BASE), None)
    if base is None or not lines:
        return Earning(0, {line.line_no: 0 for line in lines})
    # Each line's exact points, eligible / minor_per_unit * rate * tier, as an integer over a
    # denominator of its own; then all over one common denominator, so the sum, its floor and
    # the allocation below are integer arithmetic with exactly the fractions' results.
    rate_of = _RateTable(rules, base, store_id)
    tier = Fraction(tier_multiplier)
    exact: list[tuple[int, int]] = []
    for line in lines:
        rate = rate_of(line)
        if line.eligible_minor <= 0 or rate is None:
            exact.append((0, 1))
        else:
            exact.append((line.eligible_minor * rate.numerator * tier.numerator,
                          minor_per_unit * rate.denominator * tier.denominator))
    common = math.lcm(*(den for _num, den in exact))
    scaled = [num * (common // den) for num, den in exact]
    eligible = sum(line.eligible_minor for line, e in zip(lines, scaled, strict=True) if e > 0)
    if eligible < base.min_spend_minor:
        return Earning(0, {line.line_no: 0 for line in lines})
    total = floor_points(Fraction(sum(scaled), common))  # once per basket
    parts = allocate(total, scaled)
    return Earning(total, {line.line_no: p for line, p in zip(lines, parts, strict=True)})


class _RateTable:
    """A line's rate (``None``: excluded) under the rules, looked up rather than searched."""

    def __init__(self, rules: Sequence[Rule], base: Rule, store_id: int) -> None:
        self.excluded_skus = {r.sku for r in rules if r.kind == RuleKind.EXCLUSION and r.sku}
        self.excluded_categories = {
            r.category_id for r in rules if r.kind == RuleKind.EXCLUSION and r.category_id}
        self.products: dict[str | None, list[Fraction]] = {}
        self.categories: dict[int | None, list[Fraction]] = {}
        store = Fraction(1)
        for r in rules:
            if r.kind == RuleKind.STORE and r.store_id == store_id:
                store *= r.multiplier
            elif r.kind == RuleKind.PRODUCT:
                self.products.setdefault(r.sku, []).append(r.multiplier)
            elif r.kind == RuleKind.CATEGORY:
                self.categories.setdefault(r.category_id, []).append(r.multiplier)
        self.base_rate = base.points_per_unit * store
        self.cache: dict[tuple[str, int | None], Fraction | None] = {}

    def __call__(self, line: EarningLine) -> Fraction | None:
        key = (line.sku, line.category_id)
        if key not in self.cache:
            self.cache[key] = self._rate(line)
        return self.cache[key]

    def _rate(self, line: EarningLine) -> Fraction | None:
        if line.sku in self.excluded_skus or (
                line.category_id and line.category_id in self.excluded_categories):
            return None
        # The product rule is more specific than the category's and wins over it.
        specific = self.products.get(line.sku) or (
            self.categories.get(line.category_id) if line.category_id else None)
        return self.base_rate * max(specific) if specific else self.base_rate
