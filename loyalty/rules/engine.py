"""The earning engine: a basket and the rules in force -> points per line.  Pure: no database.

How a line's rate is formed (docs/EARNING.md):

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
    exact = [
        _line_points(line, rules, base, store_id, minor_per_unit) * tier_multiplier
        for line in lines
    ]
    eligible = sum(line.eligible_minor for line, e in zip(lines, exact, strict=True) if e > 0)
    if eligible < base.min_spend_minor:
        return Earning(0, {line.line_no: 0 for line in lines})
    total = floor_points(sum(exact, Fraction(0)))
    parts = allocate(total, exact)
    return Earning(total, {line.line_no: p for line, p in zip(lines, parts, strict=True)})


def _line_points(
    line: EarningLine, rules: Sequence[Rule], base: Rule, store_id: int, minor_per_unit: int
) -> Fraction:
    if line.eligible_minor <= 0 or _excluded(line, rules):
        return Fraction(0)
    rate = base.points_per_unit * _line_multiplier(line, rules, store_id)
    return Fraction(line.eligible_minor, minor_per_unit) * rate


def _excluded(line: EarningLine, rules: Sequence[Rule]) -> bool:
    return any(
        r.kind == RuleKind.EXCLUSION
        and ((r.sku and r.sku == line.sku) or (r.category_id and r.category_id == line.category_id))
        for r in rules
    )


def _line_multiplier(line: EarningLine, rules: Sequence[Rule], store_id: int) -> Fraction:
    multiplier = Fraction(1)
    for r in rules:
        if r.kind == RuleKind.STORE and r.store_id == store_id:
            multiplier *= r.multiplier
    product = [r.multiplier for r in rules if r.kind == RuleKind.PRODUCT and r.sku == line.sku]
    category = [
        r.multiplier
        for r in rules
        if r.kind == RuleKind.CATEGORY and line.category_id and r.category_id == line.category_id
    ]
    specific = product or category
    if specific:
        multiplier *= max(specific)
    return multiplier
