"""Splitting a replay window into lanes (pos_agent/lanes.py): pure, table-tested."""

from __future__ import annotations

import pytest

from pos_agent.lanes import sale_conflicts, split
from pos_agent.outbox import _coupon_key


def names(table: dict[str, set[str] | None]):  # type: ignore[no-untyped-def]
    return lambda sale: table[sale]


def lane_of(lanes: list[list[str]], sale: str) -> int:
    return next(n for n, lane in enumerate(lanes) if sale in lane)


def test_each_members_sales_stay_in_one_lane_in_the_tills_order() -> None:
    sales = [f"{m}{i}" for i in range(6) for m in "abcd"]  # a0 b0 c0 d0 a1 b1 ...
    lanes = split(sales, 2, lambda s: {f"member:{s[0]}"})
    assert len(lanes) == 2
    assert sorted(s for lane in lanes for s in lane) == sorted(sales)
    for lane in lanes:
        assert lane == [s for s in sales if s in lane]  # the till's order inside a lane
    for m in "abcd":
        assert len({lane_of(lanes, f"{m}{i}") for i in range(6)}) == 1
    assert [len(lane) for lane in lanes] == [12, 12]  # whole members, spread evenly


def test_sales_sharing_a_coupon_go_together_even_through_other_sales() -> None:
    # a and b share coupon X; b and c share card 7: a, b and c are one group, d is alone
    table = {"a1": {"member:a", "coupon:X"}, "d1": {"member:d"}, "b1": {"member:b", "coupon:X"},
             "c1": {"member:c", "card:7"}, "b2": {"member:b", "card:7"}, "d2": {"member:d"}}
    lanes = split(list(table), 2, names(table))
    assert lanes == [["a1", "b1", "c1", "b2"], ["d1", "d2"]]


def test_a_sale_of_an_unknown_member_keeps_the_whole_window_in_one_lane() -> None:
    table: dict[str, set[str] | None] = {"a1": {"member:a"}, "x1": None, "b1": {"member:b"}}
    assert split(list(table), 4, names(table)) == [["a1", "x1", "b1"]]


@pytest.mark.parametrize(("sales", "lanes", "expected"), [
    ([], 2, []),
    (["a1"], 2, [["a1"]]),
    (["a1", "b1", "c1"], 1, [["a1", "b1", "c1"]]),
    (["a1", "a2", "a3"], 3, [["a1", "a2", "a3"]]),  # one member: one lane, never an empty one
    (["a1", "b1", "c1"], 8, [["a1"], ["b1"], ["c1"]]),  # no more lanes than groups
])
def test_edges(sales: list[str], lanes: int, expected: list[list[str]]) -> None:
    assert split(sales, lanes, lambda s: {f"member:{s[0]}"}) == expected


def test_the_biggest_group_is_placed_first() -> None:
    sales = ["b1", "a1", "a2", "a3", "c1", "a4", "b2"]
    # a (4) to lane 0, b (2) to lane 1, c (1) to lane 1 (fewest): 4 and 3
    assert split(sales, 2, lambda s: {f"member:{s[0]}"}) == [["a1", "a2", "a3", "a4"],
                                                            ["b1", "c1", "b2"]]


def body(**fields: object) -> dict:
    return {"currency": "AED", "lines": [], **fields}


@pytest.mark.parametrize(("member_id", "sale", "expected"), [
    (7, body(card_number="98710000000017"), {"member:7", "card:98710000000017"}),
    # a coupon as typed (lower case, dashes) is named in its canonical form
    (7, body(member_id=7, coupon_codes=["p7vx-4vfk-d406"]), {"member:7", "coupon:P7VX4VFKD406"}),
    (7, body(member_id=8), {"member:7", "member:8"}),
    (None, body(card_number="98710000000017"), None),  # the till did not know the member
    (7, body(coupon_codes="ABCD"), None),
])
def test_what_a_queued_sale_may_share(member_id: int | None, sale: dict,
                                      expected: set[str] | None) -> None:
    assert sale_conflicts(member_id, sale, _coupon_key) == expected
