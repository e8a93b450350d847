"""Insight services: the rebuild and the refresh after a checkout.

Each flushes and never commits; the CLI command or the task owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, Table, select
from sqlalchemy.orm import Session

from loyalty.catalog.models import Category
from loyalty.errors import NotFound
from loyalty.insight.affinity import DEFAULT_MIN_SUPPORT, rebuild_affinities
from loyalty.insight.aggregates import (
    AGGREGATE_COLUMNS,
    clear_insight,
    insert_categories,
    insert_members,
    member_totals,
    refresh_member,
    roomy_work_mem,
)
from loyalty.insight.models import BtydFit, MemberCategoryInsight, MemberInsight
from loyalty.insight.rfm import score_columns, segment_of
from loyalty.members.models import Member

log = logging.getLogger(__name__)


def rebuild_insight(session: Session, as_of: dt.date,
                    min_support: float = DEFAULT_MIN_SUPPORT) -> int:
    """Aggregates, RFM scores and segments for every member as of ``as_of``, the newest
    fitted model's p_alive / 90-day expectations when there is one (:func:`rebuild_members`),
    and the affinities.  Returns members scored.  (Nightly, the two run as separate tasks.)"""
    with _step("affinities"):
        rebuild_affinities(session, as_of, min_support)
    return rebuild_members(session, as_of)


def rebuild_members(session: Session, as_of: dt.date) -> int:
    """Every member's insight row (aggregates, R/F/M, segment, and the newest fitted model's
    predictions when there is one) and per-category rows as of ``as_of``; returns members.

    Set-based: each member's row is written once, by one ``INSERT ... SELECT`` that
    aggregates the baskets, ranks the members (window functions), names the segment and joins
    the staged predictions.  The predictions, which need no lock on the insight tables, are
    computed before the tables are emptied.  Each step's time is logged at INFO
    (``insight rebuild: <step> <seconds>``).  Flushes, never commits.
    """
    roomy_work_mem(session)  # for the whole transaction: the predictions group every basket too
    fit = latest_fit(session)
    staged = None
    if fit is not None:
        # Imported here: numpy and scipy cost every process that starts the app a second.
        from loyalty.insight.churn import stage_predictions

        with _step("predictions"):
            staged = stage_predictions(session, fit, as_of)
    clear_insight(session)
    with _step("members"):
        columns, members = _scored_members(session, staged)
        made = insert_members(session, as_of, members, columns)
    with _step("categories"):
        insert_categories(session, as_of)
    if staged is not None:
        from loyalty.insight.churn import drop_staged

        drop_staged(session)
    return made


@contextmanager
def _step(name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    seconds = time.perf_counter() - started
    log.info("insight rebuild: %s %.2f s", name, seconds,
             extra={"rebuild_step": name, "seconds": seconds})


def _scored_members(session: Session, staged: Table | None
                    ) -> tuple[list[str], Select]:  # type: ignore[type-arg]
    """Each member's aggregates, R/F/M scores, segment and (with ``staged``) predictions, in
    member order: the columns of member_insight to fill, and the select."""
    totals = member_totals(session).subquery("totals")
    scored = select(totals, *score_columns(totals)).subquery("scored")
    columns = ["member_id", *AGGREGATE_COLUMNS, "r", "f", "m"]
    values = [scored.c[c] for c in columns] + [segment_of(scored.c.r, scored.c.f, scored.c.m)]
    columns.append("segment")
    source: Any = scored
    if staged is not None:
        source = scored.outerjoin(staged, staged.c.member_id == scored.c.member_id)
        predicted = [c for c in staged.c if c.key != "member_id"]
        values += predicted
        columns += [c.key for c in predicted]
    return columns, select(*values).select_from(source).order_by(scored.c.member_id)


def refresh_member_insight(session: Session, member_id: int, as_of: dt.date) -> bool:
    """The incremental path after a checkout (see :func:`refresh_member`)."""
    return refresh_member(session, member_id, as_of)


def latest_fit(session: Session) -> BtydFit | None:
    """The newest fitted BG/NBD + Gamma-Gamma model, if any."""
    return session.scalars(select(BtydFit).order_by(BtydFit.id.desc()).limit(1)).first()


@dataclass(frozen=True)
class CategoryHabit:
    category_id: int
    category_code: str
    spend_minor: int
    last_purchase_at: dt.datetime


@dataclass(frozen=True)
class MemberView:
    """What the member 360 view shows of a member's habits; ``insight`` is None before their
    first purchase is counted."""

    member_id: int
    insight: MemberInsight | None
    categories: list[CategoryHabit]


def member_insight(session: Session, member_id: int) -> MemberView:
    """The member's insight row and per-category habits, biggest spend first.  Reads only;
    ``NotFound`` (unknown_member) for a member that does not exist."""
    if session.get(Member, member_id) is None:
        raise NotFound(f"no member {member_id}", code_hint="unknown_member")
    mci = MemberCategoryInsight
    habits = session.execute(
        select(mci.category_id, Category.code, mci.spend_minor, mci.last_purchase_at)
        .join(Category, Category.id == mci.category_id)
        .where(mci.member_id == member_id)
        .order_by(mci.spend_minor.desc(), mci.category_id)
    ).all()
    return MemberView(member_id, session.get(MemberInsight, member_id),
                      [CategoryHabit(*row) for row in habits])
