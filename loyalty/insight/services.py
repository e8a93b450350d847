"""Insight services: the rebuild and the refresh after a checkout.

Each flushes and never commits; the CLI command or the task owns the transaction.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.insight.aggregates import rebuild_aggregates, refresh_member
from loyalty.insight.models import BtydFit
from loyalty.insight.rfm import score_rfm


def rebuild_insight(session: Session, as_of: dt.date) -> int:
    """Aggregates, RFM scores and segments for every member as of ``as_of``, and the newest
    fitted model's p_alive / 90-day expectations when there is one.  Returns members scored."""
    members = rebuild_aggregates(session, as_of)
    score_rfm(session)
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
