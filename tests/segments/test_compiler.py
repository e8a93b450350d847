"""The compiled SQL selects exactly the members a brute-force reading of the rule selects, for
every construct, on both databases; and bad rules are refused with the path of the fault."""

from __future__ import annotations

import datetime as dt
import operator

import pytest
from sqlalchemy import select

from loyalty.baskets.models import Basket
from loyalty.errors import InvalidSegmentRule
from loyalty.messaging.services import home_store_id
from loyalty.segments.compiler import compile_rule
from loyalty.segments.services import preview_segment
from tests.factories import make_store
from tests.insight.helpers import add_baskets
from tests.segments.helpers import NOW, Facts, build_population

OPS = {"<": operator.lt, "<=": operator.le, "=": operator.eq, ">=": operator.ge,
       ">": operator.gt, "!=": operator.ne, "in": lambda a, b: a in b}


def _leaf(p: Facts, rule: dict, cats: dict[str, int]) -> bool:
    """The rule read in Python, one member at a time (what the SQL must never do)."""
    if "and" in rule:
        return all(_leaf(p, r, cats) for r in rule["and"])
    if "or" in rule:
        return any(_leaf(p, r, cats) for r in rule["or"])
    if "not" in rule:
        return not _leaf(p, rule["not"], cats)
    if "consent" in rule:
        return p.consents.get(rule["consent"], False)
    if "bought_category" in rule:
        last = p.bought.get(rule["bought_category"])
        return last is not None and last >= NOW - dt.timedelta(days=rule["within_days"])
    name, op, value = rule["field"], rule["op"], rule["value"]
    if name == "card_status":
        wanted = value if op == "in" else [value]
        held = any(c in wanted for c in p.cards)
        return not held if op == "!=" else held
    actual = {"age": p.age(), "tier": p.tier, "gender": p.gender, "language": p.language,
              "birthday_month": p.birth_date.month if p.birth_date else None,
              }.get(name, (p.insight or {}).get(name))
    return actual is not None and OPS[op](actual, value)


RULES = [
    {"field": "recency_days", "op": "<=", "value": 40},
    {"field": "recency_days", "op": "<", "value": 2**31 - 1},
    {"field": "monetary_minor", "op": ">", "value": -(2**53)},
    {"field": "age", "op": "<", "value": 2**31 - 1},
    {"field": "age", "op": ">", "value": -(2**31) + 1},
    {"field": "p_alive", "op": "in", "value": [0.1, 0.95, 1]},
    {"field": "frequency", "op": ">", "value": 2},
    {"field": "monetary_minor", "op": "!=", "value": 1500},
    {"field": "r", "op": "in", "value": [1, 5]},
    {"field": "f", "op": "<", "value": 3},
    {"field": "m", "op": "=", "value": 4},
    {"field": "segment", "op": "in", "value": ["Champions", "Lost"]},
    {"field": "segment", "op": "!=", "value": "Lost"},
    {"field": "p_alive", "op": ">=", "value": 0.5},
    {"field": "gender", "op": "=", "value": "female"},
    {"field": "language", "op": "!=", "value": "en"},
    {"field": "birthday_month", "op": "=", "value": 6},
    {"field": "age", "op": ">=", "value": 36},
    {"field": "age", "op": "<", "value": 36},
    {"field": "age", "op": "=", "value": 18},  # born 29 February 2008, 18 on 15 June 2026
    {"field": "age", "op": "in", "value": [26, 65]},
    {"field": "age", "op": "!=", "value": 36},
    {"field": "tier", "op": "=", "value": "gold"},
    {"field": "tier", "op": "in", "value": ["gold", "silver"]},
    {"field": "tier", "op": "!=", "value": "gold"},
    {"field": "card_status", "op": "=", "value": "active"},
    {"field": "card_status", "op": "in", "value": ["blocked", "replaced"]},
    {"field": "card_status", "op": "!=", "value": "blocked"},
    {"consent": "email"},
    {"consent": "sms"},
    {"not": {"field": "recency_days", "op": "<=", "value": 40}},
    {"not": {"consent": "email"}},
    {"and": [{"field": "gender", "op": "=", "value": "female"},
             {"or": [{"consent": "email"}, {"field": "tier", "op": "=", "value": "gold"}]}]},
    {"or": [{"not": {"field": "p_alive", "op": "<", "value": 0.5}},
            {"field": "age", "op": ">", "value": 60}]},
]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: str(r)[:60])
def test_each_construct_matches_a_brute_force_reading(db, rule):
    people, cats = build_population(db)
    expected = {p.id for p in people if _leaf(p, rule, cats)}
    got = set(db.scalars(compile_rule(rule, now=NOW).query))
    assert got == expected, [p.name for p in people if p.id in got ^ expected]
    # and not(rule) is its exact complement, missing data included
    negated = set(db.scalars(compile_rule({"not": rule}, now=NOW).query))
    assert negated == {p.id for p in people} - expected


def test_bought_category_within_days(db):
    people, cats = build_population(db)
    names = {p.id: p.name for p in people}

    def who(rule: dict) -> list[str]:
        return sorted(names[i] for i in db.scalars(compile_rule(rule, now=NOW).query))

    assert who({"bought_category": cats["dairy"], "within_days": 30}) == ["Ann"]
    assert who({"bought_category": cats["dairy"], "within_days": 101}) == ["Ann", "Bob", "Cyd"]
    assert who({"bought_category": cats["fruit"], "within_days": 30}) == ["Cyd"]
    assert who({"not": {"bought_category": cats["fruit"], "within_days": 28}}) == [
        "Ann", "Bob", "Cyd", "Dee", "Eve", "Fay"]


def test_bought_but_never_and_category_spend(db):
    people, cats = build_population(db)
    names = {p.id: p.name for p in people}
    dairy, fruit = cats["dairy"], cats["fruit"]

    def who(rule: dict) -> list[str]:
        return sorted(names[i] for i in db.scalars(compile_rule(rule, now=NOW).query))

    # Cyd bought dairy 31 days ago and fruit 29 days ago
    assert who({"bought": dairy, "never": fruit}) == ["Ann", "Bob"]
    assert who({"bought": dairy, "never": fruit, "within_days": 30}) == ["Ann"]
    assert who({"bought": dairy, "never": fruit, "within_days": 40}) == ["Ann"]
    assert who({"bought": fruit, "never": dairy, "within_days": 30}) == ["Cyd"]
    assert who({"bought": fruit, "never": dairy}) == []
    # every line is 500; Ann 5 days ago, Bob 100 days ago, Cyd 31 days ago
    assert who({"category_spend": dairy, "days": 40, "min_minor": 500}) == ["Ann", "Cyd"]
    assert who({"category_spend": dairy, "days": 40, "min_minor": 501}) == []
    assert who({"category_spend": dairy, "days": 10, "min_minor": 1}) == ["Ann"]
    assert who({"not": {"category_spend": dairy, "days": 40, "min_minor": 500}}) == [
        "Bob", "Dee", "Eve", "Fay"]


def test_shopped_at_and_home_store(db):
    people, cats = build_population(db)
    names = {p.id: p.name for p in people}
    ann, bob, cyd, dee, eve, fay = people
    (first,) = set(db.scalars(select(Basket.store_id)))  # where the population shops
    a, b = make_store(db).id, make_store(db).id

    def days_ago(n: int) -> dt.datetime:
        return NOW - dt.timedelta(days=n)

    # Ann: a twice (50, 40 days ago) and first once (5): home a.  Bob: first 100 days ago and
    # b 10 days ago, a tie that the later visit breaks: home b.  Cyd: first twice.  Eve: a
    # once, 200 days ago.  Dee and Fay never shopped: no home store.
    add_baskets(db, a, [(ann.id, days_ago(50), [("SKU", cats["dairy"], 100)]),
                        (ann.id, days_ago(40), [("SKU", cats["dairy"], 100)]),
                        (eve.id, days_ago(200), [("SKU", cats["fruit"], 100)])])
    add_baskets(db, b, [(bob.id, days_ago(10), [("SKU", cats["fruit"], 100)])])
    db.flush()

    def who(rule: dict) -> list[str]:
        return sorted(names[i] for i in db.scalars(compile_rule(rule, now=NOW).query))

    assert who({"shopped_at": a}) == ["Ann", "Eve"]
    assert who({"shopped_at": a, "within_days": 45}) == ["Ann"]
    assert who({"shopped_at": b, "within_days": 9}) == []
    assert who({"shopped_at": b, "within_days": 11}) == ["Bob"]
    assert who({"shopped_at": first, "within_days": 30}) == ["Ann", "Cyd"]
    assert who({"not": {"shopped_at": a}}) == ["Bob", "Cyd", "Dee", "Fay"]

    assert who({"field": "home_store", "op": "=", "value": a}) == ["Ann", "Eve"]
    assert who({"field": "home_store", "op": "in", "value": [b, first]}) == ["Bob", "Cyd"]
    assert who({"field": "home_store", "op": "!=", "value": a}) == ["Bob", "Cyd"]
    assert who({"not": {"field": "home_store", "op": "=", "value": a}}) == [
        "Bob", "Cyd", "Dee", "Fay"]
    # one definition: the store whose clock decides a message's quiet hours
    assert [home_store_id(db, p.id) for p in people] == [a, b, first, None, a, None]


def test_preview_counts_and_samples_in_the_database(db):
    people, cats = build_population(db)
    rule = {"or": [{"consent": "sms"}, {"field": "segment", "op": "=", "value": "Champions"}]}
    expected = sorted(p.id for p in people if _leaf(p, rule, cats))
    preview = preview_segment(db, rule, sample=2, now=NOW)
    assert preview.count == len(expected) == 4
    assert [m["id"] for m in preview.sample] == expected[:2]
    assert preview.sample[0]["name"] == "Ann"


def test_unknown_category_is_refused_with_its_path(db):
    build_population(db)
    rule = {"and": [{"consent": "sms"}, {"bought_category": 999999, "within_days": 5}]}
    with pytest.raises(InvalidSegmentRule) as caught:
        preview_segment(db, rule, now=NOW)
    assert caught.value.path == "$.and[1].bought_category"


def test_unknown_store_is_refused_with_its_path(db):
    build_population(db)
    known = make_store(db).id
    for rule, path in (
        ({"or": [{"consent": "sms"}, {"shopped_at": 999999, "within_days": 5}]},
         "$.or[1].shopped_at"),
        ({"field": "home_store", "op": "in", "value": [known, 999999]}, "$.value[1]"),
        ({"and": [{"shopped_at": known}, {"field": "home_store", "op": "=", "value": 999998},
                  {"shopped_at": 999997}]}, "$.and[1].value"),
    ):
        with pytest.raises(InvalidSegmentRule) as caught:
            preview_segment(db, rule, now=NOW)
        assert caught.value.path == path
        assert caught.value.detail == f"{path}: unknown store id"


BAD = [
    ([], "$", "expected an object"),
    ({"field": "nope", "op": "=", "value": 1}, "$.field", "unknown field"),
    ({"and": [{"consent": "sms"}, {"field": "frequency", "op": ">", "value": "3"}]},
     "$.and[1].value", "expected an integer"),
    ({"field": "frequency", "op": ">", "value": True}, "$.value", "expected an integer"),
    ({"field": "p_alive", "op": ">", "value": "high"}, "$.value", "expected a number"),
    ({"field": "segment", "op": "<", "value": "Lost"}, "$.op", "operators"),
    ({"field": "frequency", "op": "~", "value": 1}, "$.op", "operators"),
    ({"field": "frequency", "op": "="}, "$", "missing key value"),
    ({"field": "frequency", "op": "in", "value": []}, "$.value", "list of 1 to"),
    ({"field": "gender", "op": "in", "value": ["f", 3]}, "$.value[1]", "expected a text"),
    ({"or": []}, "$.or", "non-empty list"),
    ({"or": {"consent": "sms"}}, "$.or", "non-empty list"),
    ({"not": {"consent": "fax"}}, "$.not.consent", "unknown channel"),
    ({"consent": "sms", "extra": 1}, "$.extra", "unexpected key"),
    ({"and": [{"consent": "sms"}], "or": []}, "$.or", "unexpected key"),
    ({"hello": 1}, "$", "expected one of the keys"),
    ({"field": "card_status", "op": "=", "value": "lost"}, "$.value", "unknown card status"),
    ({"bought_category": 1, "within_days": 0}, "$.within_days", "from 1 to"),
    ({"bought_category": "dairy", "within_days": 3}, "$.bought_category", "an id"),
    ({"field": "frequency", "op": ">", "value": 10**30}, "$.value", "out of range"),
    ({"field": "frequency", "op": ">", "value": 2**31}, "$.value", "out of range"),
    ({"field": "monetary_minor", "op": "in", "value": [1, 2**53 + 1]}, "$.value[1]",
     "out of range"),
    ({"bought": 1}, "$", "missing key never"),
    ({"field": "gender", "op": "=", "value": "f\x00"}, "$.value", "not storable"),
    ({"field": "segment", "op": "in", "value": ["Lost", "\ud800"]}, "$.value[1]",
     "not storable"),
    ({"bought": 1, "never": 0}, "$.never", "an id"),
    ({"bought": 1, "never": 2, "within_days": 1.5}, "$.within_days", "from 1 to"),
    ({"category_spend": 1, "days": 30}, "$.min_minor", "positive integer"),
    ({"category_spend": 1, "min_minor": 30}, "$.days", "from 1 to"),
    ({"category_spend": 1, "days": 3, "min_minor": 5, "max": 9}, "$.max", "unexpected key"),
    ({"field": "p_alive", "op": ">", "value": float("nan")}, "$.value", "out of range"),
    ({"shopped_at": "DXB1"}, "$.shopped_at", "an id"),
    ({"shopped_at": 1, "within_days": 0}, "$.within_days", "from 1 to"),
    ({"shopped_at": 1, "days": 3}, "$.days", "unexpected key"),
    ({"field": "home_store", "op": "<", "value": 1}, "$.op", "operators"),
    ({"field": "home_store", "op": "in", "value": [1, "DXB1"]}, "$.value[1]", "an id"),
    ({"field": "home_store", "op": "=", "value": 2**31}, "$.value", "an id"),
]


@pytest.mark.parametrize(("rule", "path", "why"), BAD, ids=lambda v: str(v)[:40])
def test_bad_rules_name_the_offending_part(rule, path, why):
    with pytest.raises(InvalidSegmentRule) as caught:
        compile_rule(rule, now=NOW)
    assert caught.value.path == path
    assert why in caught.value.detail


def test_depth_and_size_limits():
    deep: dict = {"consent": "sms"}
    for _ in range(8):
        deep = {"not": deep}
    with pytest.raises(InvalidSegmentRule) as caught:
        compile_rule(deep, now=NOW)
    assert caught.value.path == "$" + ".not" * 8 and "deeper" in caught.value.detail
    compile_rule(deep["not"], now=NOW)  # one level less is fine
    wide = {"or": [{"consent": "sms"}] * 250}
    with pytest.raises(InvalidSegmentRule) as caught:
        compile_rule(wide, now=NOW)
    assert caught.value.path == "$.or[199]" and "more than 200" in caught.value.detail
