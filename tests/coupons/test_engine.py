"""The pure coupon engine: every refusal reason, and pricing that never overshoots."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.coupons.engine import BasketView, PricedLine, evaluate, price
from loyalty.coupons.models import CouponStatus, OfferKind
from loyalty.coupons.services import Offer
from loyalty.errors import CouponRefused

NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
GROCERY, TOBACCO = 1, 2


@dataclass(frozen=True)
class Terms(Offer):
    """A coupon as the engine reads it (``engine.CouponTerms``): an offer, whose fields come from
    ``services.Offer`` so they cannot drift, plus whose it is, when and in what state."""

    kind: OfferKind = OfferKind.PERCENT_OFF
    percent: int | None = 10
    code: str = "AAAAAAAAAAAA"
    member_id: int = 7
    valid_from: dt.datetime = NOW - dt.timedelta(days=1)
    valid_to: dt.datetime = NOW + dt.timedelta(days=1)
    status: CouponStatus = CouponStatus.ISSUED


LINES = (
    PricedLine(1, "MILK", GROCERY, 2, 650, 1300),
    PricedLine(2, "BREAD", GROCERY, 1, 400, 400),
    PricedLine(3, "CIGS", TOBACCO, 1, 2500, 2500),
)


def basket(lines=LINES, **over):  # type: ignore[no-untyped-def]
    return BasketView(**({"member_id": 7, "store_id": 1, "currency": "AED", "at": NOW,
                          "lines": lines} | over))


def reason(coupons, view=None) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(CouponRefused) as exc:
        evaluate(coupons, view or basket())
    assert exc.value.extra["reason"] == exc.value.reason
    return exc.value.reason


@pytest.mark.parametrize(("terms", "expected"), [
    (Terms(member_id=8), "not_yours"),
    (Terms(status=CouponStatus.REDEEMED), "used"),
    (Terms(status=CouponStatus.VOID), "void"),
    (Terms(valid_from=NOW + dt.timedelta(seconds=1)), "not_yet_valid"),
    (Terms(valid_to=NOW), "expired"),
    (Terms(store_id=2), "wrong_store"),
    (Terms(kind=OfferKind.AMOUNT_OFF, percent=None, amount_minor=500, currency="USD"),
     "wrong_currency"),
    (Terms(min_spend_minor=4201, currency="AED"), "minimum_not_met"),
    (Terms(category_id=99), "not_applicable"),
    (Terms(kind=OfferKind.FREE_ITEM, percent=None, free_sku="EGGS"), "not_applicable"),
])
def test_each_refusal_has_its_own_reason(terms, expected):
    assert reason([terms]) == expected


def test_the_edges_of_validity_and_minimum_are_accepted():
    ok = Terms(valid_from=NOW, valid_to=NOW + dt.timedelta(seconds=1), min_spend_minor=4200,
               currency="AED")
    assert evaluate([ok], basket()).line_discounts


def test_not_yours_is_said_before_anything_else():
    stranger = Terms(member_id=8, status=CouponStatus.REDEEMED, valid_to=NOW, store_id=2)
    assert reason([stranger]) == "not_yours"


def test_a_coupon_on_lines_that_cost_nothing_is_not_applicable():
    free_bread = (PricedLine(1, "BREAD", GROCERY, 1, 400, 0),)
    assert reason([Terms()], basket(free_bread)) == "not_applicable"


def test_an_exclusive_coupon_stands_alone():
    exclusive = Terms(code="EXCLUSIVE000", exclusive=True)
    other = Terms(code="OTHER0000000")
    assert reason([exclusive, other]) == "not_stackable"
    assert reason([other, exclusive]) == "not_stackable"
    assert evaluate([exclusive], basket()).line_discounts


def test_percent_off_rounds_down_and_spreads_over_lines():
    # 10% of 42.00 = 4.20 exactly; 15% of 42.01 = 6.3015 -> 6.30
    assert sum(price([Terms()], LINES).line_discounts.values()) == 420
    odd = (*LINES[:2], PricedLine(3, "CIGS", TOBACCO, 1, 2501, 2501))
    discounts = price([Terms(percent=15)], odd).line_discounts
    assert sum(discounts.values()) == 630
    assert discounts == {1: 195, 2: 60, 3: 375}


def test_percent_off_a_category_touches_only_that_category():
    discounts = price([Terms(percent=50, category_id=GROCERY)], LINES).line_discounts
    assert discounts == {1: 650, 2: 200}


def test_amount_off_is_capped_by_what_the_lines_cost():
    big = Terms(kind=OfferKind.AMOUNT_OFF, percent=None, amount_minor=10_000, currency="AED",
                category_id=GROCERY)
    assert price([big], LINES).line_discounts == {1: 1300, 2: 400}


def test_free_item_is_one_unit_at_its_net_share():
    free_milk = Terms(kind=OfferKind.FREE_ITEM, percent=None, free_sku="MILK")
    assert price([free_milk], LINES).line_discounts == {1: 650}
    # The till gave 1.01 off two milks: the free one is worth floor(1199 / 2).
    discounted = (PricedLine(1, "MILK", GROCERY, 2, 650, 1199),)
    assert price([free_milk], discounted).line_discounts == {1: 599}


def test_bonus_points_add_up_and_discount_nothing():
    bonus = Terms(kind=OfferKind.BONUS_POINTS, percent=None, bonus_points=150)
    outcome = evaluate([bonus, replace(bonus, code="B2")], basket())
    assert (outcome.bonus_points, outcome.line_discounts) == (300, {})


def test_the_order_of_scanning_does_not_change_the_price():
    coupons = [
        Terms(code="P1", percent=10),
        Terms(code="A1", kind=OfferKind.AMOUNT_OFF, percent=None, amount_minor=333,
              currency="AED"),
        Terms(code="F1", kind=OfferKind.FREE_ITEM, percent=None, free_sku="BREAD"),
        Terms(code="P2", percent=25, category_id=TOBACCO),
    ]
    results = {tuple(sorted(price(list(p), LINES).line_discounts.items()))
               for p in itertools.permutations(coupons)}
    assert len(results) == 1


amounts = st.integers(0, 100_000)


@given(
    nets=st.lists(st.tuples(st.integers(1, 5), amounts), min_size=1, max_size=6),
    percents=st.lists(st.integers(1, 100), max_size=3),
    amount_offs=st.lists(st.integers(1, 200_000), max_size=3),
    free=st.booleans(),
)
def test_no_line_is_ever_discounted_below_zero(nets, percents, amount_offs, free):
    lines = [PricedLine(n, f"S{n}", GROCERY if n % 2 else TOBACCO, q, net, net)
             for n, (q, net) in enumerate(nets, start=1)]
    coupons = [Terms(code=f"P{i}", percent=p, category_id=GROCERY if i % 2 else None)
               for i, p in enumerate(percents)]
    coupons += [Terms(code=f"A{i}", kind=OfferKind.AMOUNT_OFF, percent=None, amount_minor=a,
                      currency="AED") for i, a in enumerate(amount_offs)]
    if free:
        coupons.append(Terms(code="F", kind=OfferKind.FREE_ITEM, percent=None, free_sku="S1"))
    discounts = price(coupons, lines).line_discounts
    by_no = {line.line_no: line.net_minor for line in lines}
    assert all(0 < d <= by_no[n] for n, d in discounts.items())
    assert sum(discounts.values()) <= sum(by_no.values())
