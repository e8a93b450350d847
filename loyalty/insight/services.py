"""Insight services: the rebuild and the refresh after a checkout.

Each flushes and never commits; the CLI command or the task owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.catalog.models import Category
from loyalty.errors import NotFound
from loyalty.insight.affinity import DEFAULT_MIN_SUPPORT, rebuild_affinities
from loyalty.insight.aggregates import rebuild_aggregates, refresh_member
from loyalty.insight.models import BtydFit, MemberCategoryInsight, MemberInsight
from loyalty.insight.rfm import score_rfm
from loyalty.members.models import Member


def rebuild_insight(session: Session, as_of: dt.date,
                    min_support: float = DEFAULT_MIN_SUPPORT) -> int:
    """Aggregates, RFM scores and segments for every member as of ``as_of``, the newest
    fitted model's p_alive / 90-day expectations when there is one, and the affinities.
    Returns members scored."""
    members = rebuild_aggregates(session, as_of)
    score_rfm(session)
    rebuild_affinities(session, as_of, min_support)
    fit = latest_fit(session)
    if fit is not None and members:
        # Imported here: numpy and scipy cost every process that starts the app a second.
        from loyalty.insight.churn import store_predictions

        store_predictions(session, fit, as_of)
    return members


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
