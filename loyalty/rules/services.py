"""Earning rules: define them, and load the ones in force at a moment."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from loyalty.db import remembered, utcnow
from loyalty.errors import InvalidInput
from loyalty.rules.engine import Rule
from loyalty.rules.models import EarningRule, RuleKind


def add_earning_rule(
    session: Session,
    name: str,
    kind: RuleKind | str,
    *,
    currency: str | None = None,
    points_per_unit: Fraction | int = 1,
    min_spend_minor: int = 0,
    multiplier_permille: int = 1000,
    category_id: int | None = None,
    sku: str | None = None,
    store_id: int | None = None,
    valid_from: dt.datetime | None = None,
    valid_to: dt.datetime | None = None,
) -> EarningRule:
    """Define a rule.  Rules are never edited in place: end one (valid_to) and add another, so
    late offline checkouts still earn under the rules of their own time."""
    kind = RuleKind(kind)
    rate = Fraction(points_per_unit)
    if rate < 0 or multiplier_permille < 0 or min_spend_minor < 0:
        raise InvalidInput("rates, multipliers and minimum spend cannot be negative")
    needs = {
        RuleKind.CATEGORY: category_id,
        RuleKind.PRODUCT: sku,
        RuleKind.STORE: store_id,
        RuleKind.EXCLUSION: category_id or sku,
    }
    if kind in needs and not needs[kind]:
        raise InvalidInput(f"a {kind.value} rule needs its target")
    rule = EarningRule(
        name=name,
        kind=kind,
        currency=currency,
        points_per_unit_num=rate.numerator,
        points_per_unit_den=rate.denominator,
        min_spend_minor=min_spend_minor,
        multiplier_permille=multiplier_permille,
        category_id=category_id,
        sku=sku,
        store_id=store_id,
        valid_from=valid_from or utcnow(),
        valid_to=valid_to,
    )
    session.add(rule)
    session.flush()
    return rule


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
