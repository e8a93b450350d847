"""Segments: preview a rule's audience (docs/SEGMENTS.md).

Reads only.  The rule is compiled to one query (loyalty.segments.compiler) and run in the
database: one COUNT and one sample query, no member loaded into Python to be tested.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.catalog.models import Category
from loyalty.db import utcnow
from loyalty.errors import InvalidSegmentRule
from loyalty.members.models import Member
from loyalty.segments.compiler import CompiledRule, compile_rule

MAX_SAMPLE = 100


@dataclass(frozen=True)
class Preview:
    count: int
    sample: list[dict[str, Any]]  # {"id", "name"}, lowest id first


def compile_checked(session: Session, rule: Any, *, now: dt.datetime | None = None
                    ) -> CompiledRule:
    """The compiled rule, after checking that every category it names exists (a rule on a
    category that does not exist is a mistake, not an empty audience)."""
    compiled = compile_rule(rule, now=now or utcnow())
    if compiled.categories:
        known = set(session.scalars(
            select(Category.id).where(Category.id.in_(compiled.categories))))
        missing = sorted(set(compiled.categories) - known)
        if missing:
            raise InvalidSegmentRule(compiled.categories[missing[0]], "unknown category id")
    return compiled


def preview_segment(session: Session, rule: Any, sample: int = 20,
                    *, now: dt.datetime | None = None) -> Preview:
    """How many members the rule selects now, and the first ``sample`` of them by id."""
    query = compile_checked(session, rule, now=now).query
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    ids = query.order_by(Member.id).limit(max(0, min(sample, MAX_SAMPLE))).subquery()
    rows = session.execute(select(Member.id, Member.name).where(Member.id.in_(select(ids)))
                           .order_by(Member.id)).all()
    return Preview(count, [{"id": r.id, "name": r.name} for r in rows])
