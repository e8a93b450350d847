"""Tiers: qualification on trailing 12-month net spend, multipliers, downgrades.

The rule (docs/POINTS.md, "Tiers"): a member moves **up** as soon as a checkout brings
their trailing 12-month net spend (payments minus refunds) to a higher tier's threshold.  They
move **down** only at the periodic tier review (task ``tiers.review``), and by at most one tier
per review, so a quiet month never drops a Platinum member straight to no tier.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from loyalty.audit.services import record_event
from loyalty.baskets.models import Basket, BasketReturn
from loyalty.db import INT32_MAX, remembered
from loyalty.errors import Conflict, InvalidInput
from loyalty.members.models import Member
from loyalty.tiers.models import Tier

WINDOW = dt.timedelta(days=365)
_T = TypeVar("_T")


_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


@dataclass(frozen=True)
class TierSpec:
    """One rung of the ladder as an operator gives it; its rank is its place in the ladder."""

    code: str
    name: str
    min_spend_minor: int
    multiplier_permille: int = 1000


def set_tier_ladder(session: Session, ladder: Sequence[TierSpec], actor: str = "cli"
                    ) -> list[Tier]:
    """Make the tier ladder exactly ``ladder``, lowest first (ranks 1, 2, ...).

    Tiers are matched by code: a code already known keeps its id (and its members), a new code
    is added, a code left out is removed, which is refused while a member holds it.
    Invariants: codes unique (letters, digits, ``_``, ``-``), names given, thresholds strictly
    increasing from the first tier up, multipliers positive.  Members keep the tier they hold
    until their spend lifts them (checkout) or the monthly review moves them.
    Effects: tiers added, changed or removed; one audit event ``tier.set``."""
    _check_ladder(ladder)
    existing = {t.code: t for t in _tiers(session)}
    removed = [t for code, t in existing.items() if code not in {s.code for s in ladder}]
    _check_unheld(session, removed)
    # Ranks are unique: park every existing tier out of the way before renumbering.
    for tier in existing.values():
        tier.rank = -tier.id
    session.flush()
    for tier in removed:
        session.delete(tier)
    result = []
    for rank, spec in enumerate(ladder, start=1):
        tier = existing.get(spec.code) or Tier(code=spec.code)
        tier.name, tier.rank, tier.min_spend_minor = spec.name, rank, spec.min_spend_minor
        tier.multiplier_permille = spec.multiplier_permille
        session.add(tier)
        result.append(tier)
    session.flush()
    record_event(session, actor, "tier.set", "tier_ladder", tiers=[
        [s.code, s.min_spend_minor, s.multiplier_permille] for s in ladder])
    return result


def add_tier(
    session: Session, code: str, name: str, rank: int, min_spend_minor: int,
    multiplier_permille: int = 1000, actor: str = "cli",
) -> Tier:
    """Add one tier to the ladder at ``rank``'s place (through :func:`set_tier_ladder`, so the
    same invariants hold)."""
    tiers = _tiers(session)
    if any(t.code == code or t.rank == rank for t in tiers):
        raise Conflict(f"a tier with code {code!r} or rank {rank} exists")
    ladder = [(t.rank, TierSpec(t.code, t.name, t.min_spend_minor, t.multiplier_permille))
              for t in tiers]
    ladder.append((rank, TierSpec(code, name, min_spend_minor, multiplier_permille)))
    placed = set_tier_ladder(session, [spec for _rank, spec in sorted(ladder)], actor)
    return next(t for t in placed if t.code == code)


def list_tiers(session: Session) -> list[Tier]:
    """The ladder, lowest rank first."""
    return _tiers(session)


def _check_unheld(session: Session, tiers: Sequence[Tier]) -> None:
    if not tiers:
        return
    held = session.scalar(select(func.count()).select_from(Member)
                          .where(Member.tier_id.in_([t.id for t in tiers])))
    if held:
        codes = ", ".join(t.code for t in tiers)
        raise Conflict(f"{held} member(s) hold tier(s) {codes}: keep them in the ladder")


def _check_ladder(ladder: Sequence[TierSpec]) -> None:
    codes = [s.code for s in ladder]
    bad = next((c for c in codes if not _CODE.match(c)), None)
    if bad is not None:
        raise InvalidInput(f"tier code {bad!r}: 1 to 32 letters, digits, '_' or '-'")
    if len(set(codes)) != len(codes):
        raise InvalidInput("tier codes must be unique within the ladder")
    for spec in ladder:
        if (not spec.name.strip() or len(spec.name) > Tier.name.type.length
                or any(ord(c) < 32 for c in spec.name)):
            raise InvalidInput(f"tier {spec.code}: the name must have 1 to "
                               f"{Tier.name.type.length} printable characters")
        if not 0 <= spec.min_spend_minor <= INT32_MAX:
            raise InvalidInput(f"tier {spec.code}: the threshold must be 0 to {INT32_MAX}")
        if not 0 < spec.multiplier_permille <= INT32_MAX:
            raise InvalidInput(f"tier {spec.code}: the multiplier must be positive "
                               "(per mille: 1000 is x1)")
    for lower, higher in zip(ladder, ladder[1:], strict=False):
        if higher.min_spend_minor <= lower.min_spend_minor:
            raise InvalidInput(f"tier thresholds must increase up the ladder: {higher.code} "
                               f"({higher.min_spend_minor}) is not above {lower.code} "
                               f"({lower.min_spend_minor})")


def trailing_spend(session: Session, member_id: int, at: dt.datetime) -> int:
    since = at - WINDOW
    paid = session.scalar(
        select(func.coalesce(func.sum(Basket.payable_minor), 0)).where(
            Basket.member_id == member_id, Basket.occurred_at > since, Basket.occurred_at <= at
        )
    )
    refunded = session.scalar(
        select(func.coalesce(func.sum(BasketReturn.refund_minor), 0))
        .join(Basket, Basket.id == BasketReturn.basket_id)
        .where(Basket.member_id == member_id, Basket.occurred_at > since,
               Basket.occurred_at <= at)
    )
    return int(paid) - int(refunded)


_ALL_TIERS = select(Tier).order_by(Tier.rank)


def _tiers(session: Session) -> list[Tier]:
    return list(session.scalars(_ALL_TIERS))


def _qualified(tiers: Sequence[_T], spend: int) -> _T | None:
    """The highest of ``tiers`` (by rank; ORM objects or rows) that ``spend`` reaches."""
    eligible = [t for t in tiers if t.min_spend_minor <= spend]
    return eligible[-1] if eligible else None


def tier_multiplier(session: Session, member: Member) -> Fraction:
    if member.tier_id is None:
        return Fraction(1)
    tier = next((t for t in _ladder(session) if t.id == member.tier_id), None)
    return Fraction(tier.multiplier_permille, 1000) if tier else Fraction(1)


_LADDER = (select(Tier.id, Tier.rank, Tier.min_spend_minor, Tier.multiplier_permille)
           .order_by(Tier.rank))


def _ladder(session: Session) -> Sequence[Any]:
    """The tiers by rank as plain rows: read with every sale, once per batch of sales
    (:func:`~loyalty.db.reference_snapshot`)."""
    return remembered(session, "tier ladder", lambda: session.execute(_LADDER).all())


def upgrade_tier(session: Session, member: Member, at: dt.datetime) -> int | None:
    """Move the member up if their spend now qualifies for a higher tier.  Never moves down.
    Returns the member's tier id after."""
    ladder = _ladder(session)
    if not ladder:
        return None
    current = next((t for t in ladder if t.id == member.tier_id), None)
    if current is not None and current.rank >= ladder[-1].rank:
        return current.id  # nothing higher to reach: no need to sum a year of baskets
    target = _qualified(ladder, trailing_spend(session, member.id, at))
    if target is not None and (current is None or target.rank > current.rank):
        member.tier_id = target.id
        session.flush()
        return target.id
    return member.tier_id


def review_tier(session: Session, member: Member, at: dt.datetime,
                tiers: list[Tier] | None = None) -> Tier | None:
    """The periodic review: up to the qualified tier, or down by one tier at most.

    ``tiers`` (by rank) spares a review of many members reading them once per member."""
    tiers = _tiers(session) if tiers is None else tiers
    target = _qualified(tiers, trailing_spend(session, member.id, at))
    current = next((t for t in tiers if t.id == member.tier_id), None)
    target_rank = target.rank if target else -1
    current_rank = current.rank if current else -1
    if target_rank > current_rank:
        new = target
    elif target_rank < current_rank:
        below = [t for t in tiers if t.rank < current_rank]
        new = below[-1] if below else None
    else:
        new = current
    member.tier_id = new.id if new else None
    member.tier_reviewed_at = at
    session.flush()
    return new


def review_period_start(at: dt.datetime) -> dt.datetime:
    """Reviews are monthly: a member reviewed since the first of ``at``'s month is done."""
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def review_tiers(session: Session, at: dt.datetime, batch: int = 500) -> tuple[int, int]:
    """Review up to ``batch`` members not yet reviewed this month; ``(reviewed, changed)``.

    Each member is locked before the check, and the check is in the locking query, so two
    reviews running at once (two beats by mistake) never move one member down twice: the
    second finds the row already reviewed this month and skips it.
    """
    due = (
        select(Member)
        .where(or_(Member.tier_reviewed_at.is_(None),
                   Member.tier_reviewed_at < review_period_start(at)))
        .order_by(Member.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    reviewed = changed = 0
    tiers = _tiers(session)
    for member in session.scalars(due).all():
        before = member.tier_id
        review_tier(session, member, at, tiers)
        reviewed += 1
        changed += before != member.tier_id
    return reviewed, changed
