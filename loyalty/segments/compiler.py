"""Segment rules (JSON) -> one SQL query selecting member ids (docs/SEGMENTS.md).

Pure: no session, no I/O.  ``compile_rule`` validates the whole rule and raises
:class:`InvalidSegmentRule` naming the JSON path of the first offending part, or returns a
``select(member.id)`` whose WHERE clause is the rule; the database evaluates it, no member is
loaded into Python to be tested.

Every leaf compiles to a condition that is TRUE or FALSE, never NULL (a member without insight
or without a birth date does not match a comparison on it), so ``not`` is the exact complement.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    extract,
    false,
    func,
    not_,
    or_,
    select,
    true,
)

from loyalty.baskets.models import Basket, BasketLine
from loyalty.baskets.queries import home_store
from loyalty.cards.models import Card, CardStatus
from loyalty.db import INT32_MAX
from loyalty.errors import InvalidSegmentRule
from loyalty.insight.models import MemberInsight
from loyalty.members.models import Channel, ConsentRecord, Member
from loyalty.tiers.models import Tier

MAX_DEPTH = 8  # nesting of and / or / not
MAX_NODES = 200  # every object in the rule, leaves included
MAX_IN_VALUES = 100
MAX_DAYS = 36600  # a century: "within N days" beyond that means nothing
MAX_STRING = 64

OPS = ("<", "<=", "=", ">=", ">", "!=", "in")
EQUALITY_OPS = ("=", "!=", "in")
INT_LIMIT = 2**53  # JSON numbers beyond this lose precision in clients


# field -> (column, kind, allowed ops); kinds: int (32-bit), bigint, number, text
_INSIGHT = MemberInsight.__table__.c
FIELDS: dict[str, tuple[Any, str, tuple[str, ...]]] = {
    "recency_days": (_INSIGHT.recency_days, "int", OPS),
    "frequency": (_INSIGHT.frequency, "int", OPS),
    "monetary_minor": (_INSIGHT.monetary_minor, "bigint", OPS),
    "r": (_INSIGHT.r, "int", OPS),
    "f": (_INSIGHT.f, "int", OPS),
    "m": (_INSIGHT.m, "int", OPS),
    "segment": (_INSIGHT.segment, "text", EQUALITY_OPS),
    "p_alive": (_INSIGHT.p_alive, "number", OPS),
    "gender": (Member.gender, "text", EQUALITY_OPS),
    "language": (Member.language, "text", EQUALITY_OPS),
    "birthday_month": (extract("month", Member.birth_date), "int", OPS),
    # computed against ``today``: see _age_condition
    "age": (None, "int", OPS),
    "tier": (None, "text", EQUALITY_OPS),
    "card_status": (None, "text", EQUALITY_OPS),
    "home_store": (None, "id", EQUALITY_OPS),
}
KEYWORDS = ("and", "or", "not", "field", "consent", "bought_category", "bought", "category_spend",
            "shopped_at")


@dataclass
class _Walk:
    today: dt.date
    now: dt.datetime
    nodes: int = 0
    categories: dict[int, str] = field(default_factory=dict)  # id -> JSON path
    stores: dict[int, str] = field(default_factory=dict)  # id -> JSON path


@dataclass(frozen=True)
class CompiledRule:
    query: Select[tuple[int]]
    # id -> JSON path naming it, for the caller to check that it exists
    categories: dict[int, str]
    stores: dict[int, str]


def compile_rule(rule: Any, *, now: dt.datetime) -> CompiledRule:
    """The rule as ``select(member.id)``; ``now`` (aware) anchors ages and "within N days"."""
    walk = _Walk(today=now.date(), now=now)
    condition = _node(rule, "$", 1, walk)
    query = (select(Member.id).select_from(Member)
             .outerjoin(MemberInsight, MemberInsight.member_id == Member.id)
             .where(condition))
    return CompiledRule(query, walk.categories, walk.stores)


def _fail(path: str, why: str) -> InvalidSegmentRule:
    return InvalidSegmentRule(path, why)


def _node(node: Any, path: str, depth: int, walk: _Walk) -> ColumnElement[bool]:
    if not isinstance(node, dict):
        raise _fail(path, "expected an object")
    walk.nodes += 1
    if walk.nodes > MAX_NODES:
        raise _fail(path, f"the rule has more than {MAX_NODES} parts")
    if depth > MAX_DEPTH:
        raise _fail(path, f"nested deeper than {MAX_DEPTH} levels")
    kind = next((k for k in KEYWORDS if k in node), None)
    if kind is None:
        raise _fail(path, f"expected one of the keys {', '.join(KEYWORDS)}")
    if kind in ("and", "or"):
        _only(node, path, {kind})
        return _combine(node[kind], kind, f"{path}.{kind}", depth, walk)
    if kind == "not":
        _only(node, path, {"not"})
        return not_(_node(node["not"], f"{path}.not", depth + 1, walk))
    if kind == "consent":
        return _consent(node, path)
    if kind == "bought_category":
        return _bought_category(node, path, walk)
    if kind == "bought":
        return _bought_never(node, path, walk)
    if kind == "category_spend":
        return _category_spend(node, path, walk)
    if kind == "shopped_at":
        return _shopped_at(node, path, walk)
    return _comparison(node, path, walk)


def _only(node: dict[str, Any], path: str, keys: set[str]) -> None:
    extra = sorted(set(node) - keys)
    if extra:
        raise _fail(f"{path}.{extra[0]}", f"unexpected key alongside {', '.join(sorted(keys))}")


def _combine(children: Any, kind: str, path: str, depth: int,
             walk: _Walk) -> ColumnElement[bool]:
    if not isinstance(children, list) or not children:
        raise _fail(path, "expected a non-empty list of rules")
    parts = [_node(child, f"{path}[{i}]", depth + 1, walk) for i, child in enumerate(children)]
    return and_(*parts) if kind == "and" else or_(*parts)


def _comparison(node: dict[str, Any], path: str, walk: _Walk) -> ColumnElement[bool]:
    _only(node, path, {"field", "op", "value"})
    name = node["field"]
    if not isinstance(name, str) or name not in FIELDS:
        raise _fail(f"{path}.field", f"unknown field; known: {', '.join(FIELDS)}")
    column, kind, ops = FIELDS[name]
    op = node.get("op")
    if op not in ops:
        raise _fail(f"{path}.op", f"field {name} takes the operators {' '.join(ops)}")
    if "value" not in node:
        raise _fail(path, "missing key value")
    value = _value(node["value"], kind, op, f"{path}.value")
    if name == "age":
        return _age_condition(op, value, walk.today)
    if name == "tier":
        return _membership(select(Tier.id).where(Tier.code.in_(_as_list(value))),
                           Member.tier_id, op)
    if name == "card_status":
        return _card_status(op, value, f"{path}.value")
    if name == "home_store":
        return _home_store(op, value, f"{path}.value", walk)
    return and_(column.is_not(None), _compare(column, op, value))


def _value(value: Any, kind: str, op: str, path: str) -> Any:
    if op == "in":
        if not isinstance(value, list) or not value or len(value) > MAX_IN_VALUES:
            raise _fail(path, f"in takes a list of 1 to {MAX_IN_VALUES} values")
        return [_scalar(v, kind, f"{path}[{i}]") for i, v in enumerate(value)]
    return _scalar(value, kind, path)


def _scalar(value: Any, kind: str, path: str) -> Any:
    if kind == "id":
        return _id(value, path)
    if kind == "text":
        if not isinstance(value, str) or not 0 < len(value) <= MAX_STRING:
            raise _fail(path, f"expected a text of 1 to {MAX_STRING} characters")
        if "\x00" in value or not _encodable(value):
            raise _fail(path, "not storable text (a NUL character or a lone surrogate)")
        return value
    numeric = isinstance(value, int) or (kind == "number" and isinstance(value, float))
    if isinstance(value, bool) or not numeric:
        raise _fail(path, "expected a number" if kind == "number" else "expected an integer")
    limit = INT32_MAX if kind == "int" else INT_LIMIT
    if abs(value) > limit or value != value:  # value != value: NaN
        raise _fail(path, f"number out of range (at most {limit} either side of 0)")
    return value


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, JSON's "\ud800"
        return False
    return True


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _compare(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    if op == "in":
        return column.in_(value)
    return {"<": column < value, "<=": column <= value, "=": column == value,
            ">=": column >= value, ">": column > value, "!=": column != value}[op]


def _membership(ids: Select[Any], column: Any, op: str) -> ColumnElement[bool]:
    """``=``/``in``: the member's value is one of ``ids``; ``!=``: it is set and is not."""
    if op == "!=":
        return and_(column.is_not(None), column.not_in(ids))
    return and_(column.is_not(None), column.in_(ids))


def _card_status(op: str, value: Any, path: str) -> ColumnElement[bool]:
    """The member holds a card in that status (``!=``: holds none in it)."""
    statuses = _as_list(value)
    known = {s.value for s in CardStatus}
    for i, status in enumerate(statuses):
        if status not in known:
            where = f"{path}[{i}]" if isinstance(value, list) else path
            raise _fail(where, f"unknown card status; known: {', '.join(sorted(known))}")
    held = exists().where(Card.member_id == Member.id, Card.status.in_(statuses))
    return not_(held) if op == "!=" else held


def _home_store(op: str, value: Any, path: str, walk: _Walk) -> ColumnElement[bool]:
    """The store of most of the member's baskets (loyalty.baskets.queries) is (``!=``: is
    not) one of the stores; a member without baskets has none and matches neither."""
    for i, store in enumerate(_as_list(value)):
        walk.stores.setdefault(store, f"{path}[{i}]" if isinstance(value, list) else path)
    # No home store reads as 0, which no store id is: one evaluation of the subquery, and
    # the condition is false, never NULL, for a member without baskets.
    home = func.coalesce(home_store(Member.id).scalar_subquery(), 0)
    stores = _as_list(value)
    return home.not_in([*stores, 0]) if op == "!=" else home.in_(stores)


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def _age_condition(op: str, value: Any, today: dt.date) -> ColumnElement[bool]:
    """Age in whole years on ``today``, as a range of birth dates (index-friendly)."""
    born = Member.birth_date

    def at_least(age: int) -> ColumnElement[bool]:
        if age > 150:
            return false()
        return true() if age <= 0 else born <= _years_before(today, age)

    def exactly(age: int) -> ColumnElement[bool]:
        return and_(at_least(age), not_(at_least(age + 1)))

    if op == "in":
        inner = or_(*(exactly(a) for a in value))
    else:
        inner = {"<": not_(at_least(value)), "<=": not_(at_least(value + 1)),
                 "=": exactly(value), ">=": at_least(value), ">": at_least(value + 1),
                 "!=": not_(exactly(value))}[op]
    return and_(born.is_not(None), inner)


def _consent(node: dict[str, Any], path: str) -> ColumnElement[bool]:
    """The member's newest decision on the channel grants marketing."""
    _only(node, path, {"consent"})
    channel = node["consent"]
    if channel not in {c.value for c in Channel}:
        raise _fail(f"{path}.consent", f"unknown channel; known: {', '.join(Channel)}")
    newer = ConsentRecord.__table__.alias("newer")
    return exists().where(
        ConsentRecord.member_id == Member.id, ConsentRecord.channel == Channel(channel),
        ConsentRecord.granted.is_(True),
        ~exists().where(newer.c.member_id == ConsentRecord.member_id,
                        newer.c.channel == ConsentRecord.channel,
                        newer.c.id > ConsentRecord.id),
    )


def _bought_category(node: dict[str, Any], path: str, walk: _Walk) -> ColumnElement[bool]:
    """A line in the category within the last N days (from the baskets, not the nightly
    insight, so a purchase this morning counts)."""
    _only(node, path, {"bought_category", "within_days"})
    category = _category(node, "bought_category", path, walk)
    since = _since(node, "within_days", path, walk, required=True)
    return _lines_in(category, since)


def _bought_never(node: dict[str, Any], path: str, walk: _Walk) -> ColumnElement[bool]:
    """Bought in category X and never in category Y (both within N days, if given): the
    cross-sell audience."""
    _only(node, path, {"bought", "never", "within_days"})
    bought = _category(node, "bought", path, walk)
    if "never" not in node:
        raise _fail(path, "missing key never")
    never = _category(node, "never", path, walk)
    since = _since(node, "within_days", path, walk, required=False)
    return and_(_lines_in(bought, since), not_(_lines_in(never, since)))


def _category_spend(node: dict[str, Any], path: str, walk: _Walk) -> ColumnElement[bool]:
    """Spend (line amounts net of line discounts) in the category over the last N days is at
    least M minor units."""
    _only(node, path, {"category_spend", "days", "min_minor"})
    category = _category(node, "category_spend", path, walk)
    since = _since(node, "days", path, walk, required=True)
    least = node.get("min_minor")
    if isinstance(least, bool) or not isinstance(least, int) or not 1 <= least <= INT_LIMIT:
        raise _fail(f"{path}.min_minor", "expected a positive integer (minor units)")
    spend = (select(func.coalesce(func.sum(BasketLine.net_minor), 0))
             .where(Basket.member_id == Member.id, Basket.occurred_at >= since,
                    BasketLine.basket_id == Basket.id, BasketLine.category_id == category)
             .scalar_subquery())
    return spend >= least


def _shopped_at(node: dict[str, Any], path: str, walk: _Walk) -> ColumnElement[bool]:
    """A basket at the store, within the last N days if given, else ever."""
    _only(node, path, {"shopped_at", "within_days"})
    store = _id(node["shopped_at"], f"{path}.shopped_at")
    walk.stores.setdefault(store, f"{path}.shopped_at")
    since = _since(node, "within_days", path, walk, required=False)
    window = [] if since is None else [Basket.occurred_at >= since]
    return exists().where(Basket.member_id == Member.id, Basket.store_id == store, *window)


def _category(node: dict[str, Any], key: str, path: str, walk: _Walk) -> int:
    category = _id(node[key], f"{path}.{key}")
    walk.categories.setdefault(category, f"{path}.{key}")
    return category


def _since(node: dict[str, Any], key: str, path: str, walk: _Walk,
           *, required: bool) -> dt.datetime | None:
    if key not in node and not required:
        return None
    days = node.get(key)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise _fail(f"{path}.{key}", f"expected an integer from 1 to {MAX_DAYS}")
    return walk.now - dt.timedelta(days=days)


def _lines_in(category: int, since: dt.datetime | None) -> ColumnElement[bool]:
    """The member has a basket line in the category (since ``since``, if given)."""
    window = [] if since is None else [Basket.occurred_at >= since]
    return exists().where(Basket.member_id == Member.id, *window,
                          BasketLine.basket_id == Basket.id, BasketLine.category_id == category)


def _id(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= INT32_MAX:
        raise _fail(path, "expected an id (a positive integer)")
    return value

