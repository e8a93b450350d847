"""Segments: preview a rule's audience, save named rules (docs/SEGMENTS.md).

Preview reads only.  The rule is compiled to one query (loyalty.segments.compiler) and run in the
database: one COUNT and one sample query, no member loaded into Python to be tested.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.audit.services import record_event
from loyalty.catalog.models import Category
from loyalty.db import utcnow
from loyalty.errors import AlreadyExists, InvalidSegmentRule, NotFound
from loyalty.members.models import Member
from loyalty.segments.compiler import CompiledRule, compile_rule
from loyalty.segments.models import Segment
from loyalty.stores.models import Store

MAX_SAMPLE = 100


@dataclass(frozen=True)
class Preview:
    count: int
    sample: list[dict[str, Any]]  # {"id", "name"}, lowest id first


def compile_checked(session: Session, rule: Any, *, now: dt.datetime | None = None
                    ) -> CompiledRule:
    """The compiled rule, after checking that every category and store it names exists (a
    rule on one that does not exist is a mistake, not an empty audience)."""
    compiled = compile_rule(rule, now=now or utcnow())
    _check_exist(session, Category.id, compiled.categories, "unknown category id")
    _check_exist(session, Store.id, compiled.stores, "unknown store id")
    return compiled


def _check_exist(session: Session, column: Any, named: dict[int, str], why: str) -> None:
    """``named``: id -> the JSON path naming it first, in the rule's order; the first missing
    one is refused."""
    if not named:
        return
    known = set(session.scalars(select(column).where(column.in_(named))))
    for id_, path in named.items():
        if id_ not in known:
            raise InvalidSegmentRule(path, why)


def preview_segment(session: Session, rule: Any, sample: int = 20,
                    *, now: dt.datetime | None = None) -> Preview:
    """How many members the rule selects now, and the first ``sample`` of them by id."""
    query = compile_checked(session, rule, now=now).query
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    ids = query.order_by(Member.id).limit(max(0, min(sample, MAX_SAMPLE))).subquery()
    rows = session.execute(select(Member.id, Member.name).where(Member.id.in_(select(ids)))
                           .order_by(Member.id)).all()
    return Preview(count, [{"id": r.id, "name": r.name} for r in rows])


def create_segment(session: Session, name: str, rule: Any, *, actor: str) -> Segment:
    """Save a named rule, after compiling it (a rule that cannot run is never stored).  The
    name is unique (AlreadyExists otherwise).  Audit-logged with ``actor``."""
    compile_checked(session, rule)
    if session.scalar(select(Segment.id).where(Segment.name == name)) is not None:
        raise AlreadyExists(f"a segment named {name!r} exists")
    segment = Segment(name=name, rule=rule, created_by=actor)
    session.add(segment)
    session.flush()
    record_event(session, actor, "segment.create", f"segment:{segment.id}", name=name)
    return segment


def list_segments(session: Session) -> list[Segment]:
    """Every saved segment, by name."""
    return list(session.scalars(select(Segment).order_by(Segment.name)))


def get_segment(session: Session, segment_id: int) -> Segment:
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise NotFound(f"no segment {segment_id}")
    return segment


def preview_saved_segment(session: Session, segment_id: int, sample: int = 20) -> Preview:
    """A saved segment's audience now (the rule is evaluated afresh)."""
    return preview_segment(session, get_segment(session, segment_id).rule, sample)
