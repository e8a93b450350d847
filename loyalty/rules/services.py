"""Earning rules: define them, and load the ones in force at a moment."""

from __future__ import annotations

import datetime as dt
import re
from fractions import Fraction
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from loyalty.audit.services import record_event
from loyalty.catalog.models import Category, Product
from loyalty.db import INT32_MAX, remembered, utcnow
from loyalty.errors import Conflict, InvalidInput, NotFound, RuleOverlaps
from loyalty.money import KNOWN_CURRENCIES
from loyalty.rules.engine import Rule
from loyalty.rules.models import EarningRule, RuleKind
from loyalty.stores.models import Store

# Every integer a rule keeps fits a 32-bit column on both databases.
# Validity windows are for this era; far-off years only overflow time zone arithmetic.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
_RATE = re.compile(r"^\s*(\d{1,9})(?:([./])(\d{1,9}))?\s*$")
# Which optional fields each kind takes; anything else given for it is refused, not ignored.
_TAKES: dict[RuleKind, frozenset[str]] = {
    RuleKind.BASE: frozenset({"points_per_unit", "min_spend_minor"}),
    RuleKind.STORE: frozenset({"store_id", "multiplier_permille"}),
    RuleKind.CATEGORY: frozenset({"category_id", "multiplier_permille"}),
    RuleKind.PRODUCT: frozenset({"sku", "multiplier_permille"}),
    RuleKind.EXCLUSION: frozenset({"category_id", "sku"}),
}
_TARGET = {RuleKind.STORE: "store_id", RuleKind.CATEGORY: "category_id",
           RuleKind.PRODUCT: "sku"}


def parse_rate(text: str) -> Fraction:
    """Points per currency unit as people write it: ``1``, ``0.5`` or ``3/2`` (never a float:
    ``0.1`` is exactly one tenth)."""
    match = _RATE.match(text)
    if match is None:
        raise InvalidInput(f"points per unit {text!r}: write a whole number, a decimal such as "
                           "0.5, or a fraction such as 3/2 (not negative)")
    whole, sep, part = match.groups()
    if sep == "/":
        if int(part) == 0:
            raise InvalidInput(f"points per unit {text!r}: division by zero")
        return Fraction(int(whole), int(part))
    return Fraction(f"{whole}.{part}") if sep else Fraction(int(whole))


def rate_text(rule: EarningRule) -> str:
    """A rule's points per unit as :func:`parse_rate` reads it back (``1``, ``3/2``)."""
    return str(Fraction(rule.points_per_unit_num, rule.points_per_unit_den))


def add_earning_rule(
    session: Session,
    name: str,
    kind: RuleKind | str,
    *,
    currency: str | None = None,
    points_per_unit: Fraction | int | None = None,
    min_spend_minor: int | None = None,
    multiplier_permille: int | None = None,
    category_id: int | None = None,
    sku: str | None = None,
    store_id: int | None = None,
    valid_from: dt.datetime | None = None,
    valid_to: dt.datetime | None = None,
    actor: str = "cli",
) -> EarningRule:
    """Define a rule.  Rules are never edited in place: end one (valid_to) and add another, so
    late offline checkouts still earn under the rules of their own time.

    Invariants (each refused with ``invalid_input``, or ``rule_overlaps`` for the last): a
    known kind, a name, a known currency; only the fields the kind takes (docs/POINTS.md),
    with its target, which must exist (store, category, catalog SKU); no negative rate,
    multiplier or minimum spend; ``valid_to`` after ``valid_from``; no other rule of the same
    kind, currency and target in force at any moment of the window (a BASE rule may overlap
    an older one: the one that started last wins, which is how a double-points weekend runs).
    Effects: one audit event ``rule.add``."""
    kind = _kind(kind)
    given = {"points_per_unit": points_per_unit, "min_spend_minor": min_spend_minor,
             "multiplier_permille": multiplier_permille, "category_id": category_id,
             "sku": sku, "store_id": store_id}
    _check_fields(kind, {k for k, v in given.items() if v is not None})
    rate = Fraction(1 if points_per_unit is None else points_per_unit)
    multiplier = 1000 if multiplier_permille is None else multiplier_permille
    min_spend = min_spend_minor or 0
    if rate < 0 or multiplier < 0 or min_spend < 0:
        raise InvalidInput("rates, multipliers and minimum spend cannot be negative")
    if max(rate.numerator, rate.denominator, multiplier, min_spend) > INT32_MAX:
        raise InvalidInput(f"rates, multipliers and minimum spend are at most {INT32_MAX}")
    valid_from = _moment("valid_from", valid_from or utcnow())
    if valid_to is not None and _moment("valid_to", valid_to) <= valid_from:
        raise InvalidInput("valid_to must be after valid_from")
    rule = EarningRule(
        name=_label("rule name", name, EarningRule.name.type.length),
        kind=kind,
        currency=_currency(currency),
        points_per_unit_num=rate.numerator,
        points_per_unit_den=rate.denominator,
        min_spend_minor=min_spend,
        multiplier_permille=multiplier,
        category_id=category_id,
        sku=None if sku is None else _label("SKU", sku, EarningRule.sku.type.length),
        store_id=store_id,
        valid_from=valid_from,
        valid_to=valid_to,
    )
    _check_target_exists(session, rule)
    _check_no_overlap(session, rule)
    session.add(rule)
    session.flush()
    record_event(session, actor, "rule.add", f"earning_rule:{rule.id}", kind=kind.value,
                 name=rule.name)
    return rule


def end_earning_rule(session: Session, rule_id: int, at: dt.datetime | None = None,
                     actor: str = "cli") -> EarningRule:
    """End a rule at ``at`` (default now): sales from then on no longer earn under it.

    A rule can be ended sooner than planned, never later (that would edit the past of a rule
    that said it had ended); ``at`` may not precede its start.  Effects: ``valid_to`` set, one
    audit event ``rule.end``."""
    rule = session.get(EarningRule, rule_id) if 0 < rule_id <= INT32_MAX else None
    if rule is None:
        raise NotFound(f"no earning rule {rule_id}")
    at = _moment("at", at or utcnow())
    if rule.valid_to is not None and rule.valid_to <= at:
        raise Conflict(f"earning rule {rule_id} has already ended ({rule.valid_to.isoformat()})")
    if at < rule.valid_from:
        raise InvalidInput(f"earning rule {rule_id} starts at {rule.valid_from.isoformat()}; "
                           "it cannot end before it starts")
    rule.valid_to = at
    session.flush()
    record_event(session, actor, "rule.end", f"earning_rule:{rule.id}", at=at.isoformat())
    return rule


def list_earning_rules(session: Session, *, include_ended: bool = False,
                       at: dt.datetime | None = None) -> list[EarningRule]:
    """Rules by id: those in force or still to come at ``at`` (now), or every rule ever."""
    query = select(EarningRule).order_by(EarningRule.id)
    if not include_ended:
        query = query.where(or_(EarningRule.valid_to.is_(None),
                                EarningRule.valid_to > (at or utcnow())))
    return list(session.scalars(query))


def _kind(kind: RuleKind | str) -> RuleKind:
    try:
        return RuleKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in RuleKind)
        raise InvalidInput(f"unknown rule kind {kind!r} (one of {known})") from None


def _check_fields(kind: RuleKind, given: set[str]) -> None:
    extra = sorted(given - _TAKES[kind])
    if extra:
        raise InvalidInput(f"a {kind.value} rule does not take {', '.join(extra)}")
    if kind in _TARGET and _TARGET[kind] not in given:
        raise InvalidInput(f"a {kind.value} rule needs its {_TARGET[kind]}")
    if kind is RuleKind.EXCLUSION and len(given) != 1:
        raise InvalidInput("an exclusion rule needs one of category_id or sku")


def _check_target_exists(session: Session, rule: EarningRule) -> None:
    for what, model, ref in (("store", Store, rule.store_id),
                             ("category", Category, rule.category_id)):
        if ref is not None and (not 0 < ref <= INT32_MAX or session.get(model, ref) is None):
            raise InvalidInput(f"no {what} {ref}")
    if rule.sku is not None and session.scalar(
            select(Product.id).where(Product.sku == rule.sku)) is None:
        raise InvalidInput(f"no product with SKU {rule.sku!r} in the catalog "
                           "(import the catalog first)")


def _check_no_overlap(session: Session, rule: EarningRule) -> None:
    """Two rules of one kind on one target at once would multiply (store) or compete
    (category, product): say so rather than let the engine pick."""
    same = [EarningRule.kind == rule.kind,
            EarningRule.currency.is_(None) if rule.currency is None
            else EarningRule.currency == rule.currency,
            or_(EarningRule.valid_to.is_(None), EarningRule.valid_to > rule.valid_from)]
    for column in (EarningRule.store_id, EarningRule.category_id, EarningRule.sku):
        value = getattr(rule, column.key)
        same.append(column.is_(None) if value is None else column == value)
    if rule.valid_to is not None:
        same.append(EarningRule.valid_from < rule.valid_to)
    if rule.kind is RuleKind.BASE:
        same.append(EarningRule.valid_from == rule.valid_from)  # the later start wins
    clash = session.execute(select(EarningRule.id, EarningRule.name).where(*same)
                            .order_by(EarningRule.id).limit(1)).first()
    if clash is not None:
        raise RuleOverlaps(f"earning rule {clash.id} ({clash.name!r}) covers the same "
                           "target at the same time; end it first", rule_id=clash.id)


def _moment(what: str, moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise InvalidInput(f"{what} needs a timezone offset")
    if not EARLIEST <= moment <= LATEST:
        raise InvalidInput(f"{what} must fall between {EARLIEST.year} and {LATEST.year}")
    return moment


def _currency(currency: str | None) -> str | None:
    if currency is None:
        return None
    if currency.upper() not in KNOWN_CURRENCIES:
        raise InvalidInput(f"unknown currency {currency!r}")
    return currency.upper()


def _label(what: str, value: str, max_length: int | None) -> str:
    # The CLI reaches the services without a schema; refuse here what the column cannot hold.
    if (not value.strip() or (max_length is not None and len(value) > max_length)
            or any(ord(c) < 32 for c in value)):
        raise InvalidInput(f"{what} must have 1 to {max_length} printable characters")
    return value


_RULE_COLUMNS = (
    EarningRule.id, EarningRule.kind, EarningRule.currency, EarningRule.points_per_unit_num,
    EarningRule.points_per_unit_den, EarningRule.min_spend_minor,
    EarningRule.multiplier_permille, EarningRule.category_id, EarningRule.sku,
    EarningRule.store_id, EarningRule.valid_from, EarningRule.valid_to,
)

# Rules in force at some time in [earliest, latest]; which of them at a given time, and which
# base rule wins, is decided in Python (:func:`rules_in_force`).
_IN_FORCE_BETWEEN = (
    select(*_RULE_COLUMNS)
    .where(
        EarningRule.valid_from <= bindparam("latest"),
        or_(EarningRule.valid_to.is_(None), EarningRule.valid_to > bindparam("earliest")),
        or_(EarningRule.currency.is_(None), EarningRule.currency == bindparam("currency")),
    )
    .order_by(EarningRule.id)
)
# Read once for a batch: the rules in force from 31 days ago (the oldest sale a till may still
# send is 30 days old) to 31 days ahead.  A time outside the window reads its own.
SNAPSHOT_WINDOW = dt.timedelta(days=31)


def rules_in_force(session: Session, at: dt.datetime, currency: str) -> list[Rule]:
    # Plain rows, not ORM objects: read on every quote and checkout, and never changed here.
    earliest, latest, rows = remembered(session, ("earning rules", currency),
                                        lambda: _rules_around(session, utcnow(), currency))
    if not earliest <= at <= latest:
        rows = _rules_between(session, at, at, currency)
    rows = [r for r in rows if r.valid_from <= at and (r.valid_to is None or r.valid_to > at)]
    bases = [r for r in rows if r.kind == RuleKind.BASE]
    # The newest base rule in force wins; a currency-specific one beats a generic one.
    bases.sort(key=lambda r: (r.currency is not None, r.valid_from, r.id))
    chosen = [r for r in rows if r.kind != RuleKind.BASE] + bases[-1:]
    return [_as_rule(r) for r in chosen]


def _rules_around(session: Session, now: dt.datetime, currency: str
                  ) -> tuple[dt.datetime, dt.datetime, list[Any]]:
    earliest, latest = now - SNAPSHOT_WINDOW, now + SNAPSHOT_WINDOW
    return earliest, latest, _rules_between(session, earliest, latest, currency)


def _rules_between(session: Session, earliest: dt.datetime, latest: dt.datetime,
                   currency: str) -> list[Any]:
    return list(session.execute(_IN_FORCE_BETWEEN, {"earliest": earliest, "latest": latest,
                                                    "currency": currency}).all())


def _as_rule(row: Any) -> Rule:
    return Rule(
        kind=row.kind,
        points_per_unit=Fraction(row.points_per_unit_num, row.points_per_unit_den),
        min_spend_minor=row.min_spend_minor,
        multiplier=Fraction(row.multiplier_permille, 1000),
        category_id=row.category_id,
        sku=row.sku,
        store_id=row.store_id,
    )
