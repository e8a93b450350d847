"""The engine and allocation work in integers; their results must be exactly those of the rules
written as fractions (loyalty.money rules 1 and 2), which this file keeps as the reference."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.money import allocate
from loyalty.rules.engine import EarningLine, Rule, earn
from loyalty.rules.models import RuleKind


def reference_allocate(total: int, weights: list) -> list[int]:  # type: ignore[type-arg]
    if total < 0:
        return [-p for p in reference_allocate(-total, weights)]
    weight_sum = sum(Fraction(w) for w in weights)
    if not weights:
        return []
    if weight_sum == 0:
        parts = [0] * len(weights)
        parts[0] = total
        return parts
    exact = [Fraction(total) * Fraction(w) / weight_sum for w in weights]
    parts = [int(e.__floor__()) for e in exact]
    leftover = total - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in by_remainder[:leftover]:
        parts[i] += 1
    return parts


def reference_earn(lines, rules, store_id, minor_per_unit, tier):  # type: ignore[no-untyped-def]
    base = next((r for r in rules if r.kind == RuleKind.BASE), None)
    if base is None or not lines:
        return 0, [0] * len(lines)

    def multiplier(line):  # type: ignore[no-untyped-def]
        m = Fraction(1)
        for r in rules:
            if r.kind == RuleKind.STORE and r.store_id == store_id:
                m *= r.multiplier
        product = [r.multiplier for r in rules if r.kind == RuleKind.PRODUCT and r.sku == line.sku]
        category = [r.multiplier for r in rules if r.kind == RuleKind.CATEGORY
                    and line.category_id and r.category_id == line.category_id]
        specific = product or category
        return m * max(specific) if specific else m

    def excluded(line):  # type: ignore[no-untyped-def]
        return any(r.kind == RuleKind.EXCLUSION and ((r.sku and r.sku == line.sku) or (
            r.category_id and r.category_id == line.category_id)) for r in rules)

    exact = [Fraction(0) if line.eligible_minor <= 0 or excluded(line) else
             Fraction(line.eligible_minor, minor_per_unit) * base.points_per_unit
             * multiplier(line) * tier for line in lines]
    eligible = sum(line.eligible_minor for line, e in zip(lines, exact, strict=True) if e > 0)
    if eligible < base.min_spend_minor:
        return 0, [0] * len(lines)
    total = int(sum(exact, Fraction(0)).__floor__())
    return total, reference_allocate(total, exact)


weights = st.one_of(
    st.lists(st.integers(-50, 10_000), max_size=12),
    st.lists(st.fractions(min_value=0, max_value=50, max_denominator=12), max_size=12),
    st.lists(st.one_of(st.integers(0, 100), st.fractions(0, 10, max_denominator=7)), max_size=8),
)


@settings(max_examples=400, deadline=None)
@given(st.integers(-1_000, 100_000), weights)
def test_allocate_matches_the_fractions(total, ws):  # type: ignore[no-untyped-def]
    assert allocate(total, ws) == reference_allocate(total, ws)


SKUS = st.sampled_from(["A", "B", "C", "D"])
CATEGORIES = st.one_of(st.none(), st.integers(1, 3))
MULTIPLIERS = st.fractions(min_value=0, max_value=5, max_denominator=1000)
RULES = st.lists(st.one_of(
    st.builds(Rule, kind=st.just(RuleKind.CATEGORY), multiplier=MULTIPLIERS,
              category_id=st.integers(1, 3)),
    st.builds(Rule, kind=st.just(RuleKind.PRODUCT), multiplier=MULTIPLIERS, sku=SKUS),
    st.builds(Rule, kind=st.just(RuleKind.STORE), multiplier=MULTIPLIERS,
              store_id=st.integers(1, 2)),
    st.builds(Rule, kind=st.just(RuleKind.EXCLUSION), sku=st.one_of(st.none(), SKUS),
              category_id=st.one_of(st.none(), st.integers(1, 3))),
), max_size=6)
BASES = st.lists(st.builds(
    Rule, kind=st.just(RuleKind.BASE),
    points_per_unit=st.fractions(min_value=0, max_value=10, max_denominator=20),
    min_spend_minor=st.integers(0, 5_000)), max_size=1)
LINES = st.lists(st.tuples(SKUS, CATEGORIES, st.integers(-100, 50_000)), max_size=10)


@settings(max_examples=400, deadline=None)
@given(BASES, RULES, LINES, st.sampled_from([100, 1000, 1]),
       st.fractions(min_value=0, max_value=3, max_denominator=1000))
def test_earn_matches_the_fractions(bases, rules, specs, mpu, tier):  # type: ignore[no-untyped-def]
    lines = [EarningLine(n, sku, cat, minor) for n, (sku, cat, minor) in enumerate(specs, 1)]
    every = rules + bases
    result = earn(lines, every, store_id=1, minor_per_unit=mpu, tier_multiplier=tier)
    total, parts = reference_earn(lines, every, 1, mpu, tier)
    assert result.total == total
    assert [result.per_line[line.line_no] for line in lines] == parts
