"""Issuing a campaign's coupons at scale: plan a run, then issue it chunk by chunk.

CONTRACT (docs/CAMPAIGNS.md, "Issuing at scale") -- other parts build on these signatures:
``holdout_bucket`` and ``holdout_bucket_sql``, ``plan_run``, ``issue_chunk``, ``start_run``,
``run_progress``.

* **Plan** (:func:`plan_run`): one ``INSERT ... SELECT`` from the audience writes the run's
  targets, each with its holdout flag, its chunk and the explanation; no member is loaded into
  Python.  Planning the same (campaign, occasion) again returns the run already planned.
* **Issue** (:func:`issue_chunk`): one chunk's pending targets get their coupons in a few
  set-based statements, in ONE transaction with their outcomes, the budget and the delivery
  messages.  What makes it safe to run twice, concurrently, or after a worker was killed:

  - the chunk's pending targets are claimed ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite has
    one writer): a second copy of the chunk running at the same time finds nothing to claim;
  - the coupons go in with ``ON CONFLICT DO NOTHING`` against UNIQUE(campaign, member,
    occasion): even a claim that went wrong could not give anyone two coupons;
  - the outcomes are written in the same transaction as the coupons: a killed worker's
    transaction rolls back whole, its targets stay ``pending`` and a rerun issues them.

* **Budget**: the coupons are inserted first, then the chunk's share of the budget is taken by
  a conditional UPDATE of ``campaign.committed_minor`` under the row's lock (the last thing
  before the commit, so chunks of one campaign overlap for most of their work); coupons beyond
  what the budget allows are deleted again in the same transaction and their targets become
  ``over_budget``.  The cap is never crossed, whatever the number of workers.
* **Contact limit** across campaigns: members who already hold ``member_limit_count``
  campaign coupons issued in the last ``member_limit_days`` become ``over_limit``.  On
  PostgreSQL the chunk's members are locked (``FOR NO KEY UPDATE``, in id order) first, so two
  limited campaigns issuing to one member at once cannot both pass the count.

Services flush and never commit; the task (or command) owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import (
    JSON,
    Integer,
    Select,
    String,
    case,
    cast,
    exists,
    func,
    literal,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loyalty.audit.services import record_event
from loyalty.campaigns.holdout import holdout_bucket, holdout_bucket_sql, is_held_out
from loyalty.campaigns.models import (
    Campaign,
    CampaignRun,
    CampaignStatus,
    CampaignTarget,
    RunStatus,
    TargetOutcome,
)
from loyalty.campaigns.occasions import coupon_occasion
from loyalty.campaigns.offers import parse_offer
from loyalty.coupons.codes import new_codes
from loyalty.coupons.models import Coupon, CouponStatus, OfferKind
from loyalty.coupons.services import Offer, offer_summary
from loyalty.db import is_postgres, utcnow
from loyalty.errors import InvalidInput, NotFound
from loyalty.members.models import Member
from loyalty.messaging.services import queue_messages
from loyalty.outbox.services import enqueue

__all__ = [
    "CHUNK_SIZE", "ISSUE_CHUNK_TASK", "ChunkCounts", "RunProgress", "finish_run",
    "holdout_bucket", "holdout_bucket_sql", "is_held_out", "issue_chunk", "plan_run",
    "resume_run", "run_progress", "stalled_runs", "start_run",
]

ISSUE_CHUNK_TASK = "campaigns.issue_chunk"
# Targets per chunk: big enough that a chunk's fixed costs (claim, budget, commit) are small
# next to its inserts, small enough that a killed worker loses little and a chunk's
# transaction holds its locks briefly.  200,000 members make 40 chunks.
CHUNK_SIZE = 5000
MESSAGE_TEMPLATE = "coupon_offer"
SYSTEM_ACTOR = "system"
# A clash of two random 55-bit codes is rare (about one in 3,600 for a run of 200,000 against
# 10 million coupons already issued); the clashing members simply get new codes, this often.
CODE_ATTEMPTS = 5


# --- planning ----------------------------------------------------------------------------------


def plan_run(
    session: Session,
    campaign: Campaign,
    occasion: str,
    audience: Select[Any],
    *,
    chunk_size: int = CHUNK_SIZE,
    now: dt.datetime | None = None,
) -> CampaignRun:
    """Write the run of ``campaign`` for ``occasion`` and its targets, or return it if planned.

    ``audience`` selects each member once; its first column is labelled ``member_id`` and its
    other labelled columns are the member's values that matched, which become the explanation
    ``{"kind": ..., "rule": ..., "values": {label: value}}`` on the target and its coupon.
    Targets are numbered in member id order into chunks of ``chunk_size``; a member is held out
    iff :func:`holdout_bucket` < ``campaign.holdout_percent`` (outcome ``holdout``, else
    ``pending``).  Effects: one run row, its targets (one INSERT ... SELECT), the campaign
    frozen (``frozen_at``).  Two planners at once: the UNIQUE(campaign, occasion) lets one
    write; the other gets the same run.  Flushes, never commits.
    """
    occasion = occasion.strip()
    if not occasion or len(occasion) > 40:
        raise InvalidInput("an occasion names the run (1-40 characters)")
    if chunk_size < 1:
        raise InvalidInput("chunk_size must be positive")
    if "member_id" not in audience.selected_columns:
        raise InvalidInput("the audience must select a column labelled member_id")
    existing = _find_run(session, campaign.id, occasion)
    if existing is not None:
        return existing
    now = now or utcnow()
    run = CampaignRun(campaign_id=campaign.id, occasion=occasion, status=RunStatus.PLANNED,
                      planned_at=now)
    try:
        with session.begin_nested():
            session.add(run)
    except IntegrityError:  # planned at this moment by another transaction, now committed
        found = _find_run(session, campaign.id, occasion)
        if found is None:
            raise
        return found
    session.execute(_targets_insert(session, campaign, run.id, audience, chunk_size))
    totals = session.execute(
        select(func.count(), func.count().filter(CampaignTarget.holdout.is_(True)),
               func.max(CampaignTarget.chunk))
        .where(CampaignTarget.run_id == run.id)
    ).one()
    run.targets, run.holdout = totals[0], totals[1]
    run.chunks = 0 if totals[2] is None else totals[2] + 1
    if campaign.frozen_at is None:
        campaign.frozen_at = now
    session.flush()
    return run


def _find_run(session: Session, campaign_id: int, occasion: str) -> CampaignRun | None:
    return session.scalar(select(CampaignRun).where(
        CampaignRun.campaign_id == campaign_id, CampaignRun.occasion == occasion))


def _targets_insert(
    session: Session, campaign: Campaign, run_id: int, audience: Select[Any], chunk_size: int
) -> Any:
    source = audience.subquery("audience")
    # The bucket once per member (an inner select), then the holdout flag and outcome from it.
    ranked = select(
        *source.c,
        holdout_bucket_sql(campaign.id, source.c.member_id).label("_bucket"),
        ((func.row_number().over(order_by=source.c.member_id) - 1) // chunk_size)
        .label("_chunk"),
    ).subquery("ranked")
    values = [(c.name, ranked.c[c.name]) for c in source.c if c.name != "member_id"]
    explanation = _json_object(session, [
        ("kind", _text(str(campaign.kind))),
        ("rule", _json_literal(session, campaign.audience)),
        ("values", _json_object(session, values)),
    ])
    held_out = ranked.c._bucket < campaign.holdout_percent
    rows = select(
        literal(run_id, Integer),
        ranked.c.member_id,
        held_out,
        ranked.c._chunk,
        case((held_out, TargetOutcome.HOLDOUT.value), else_=TargetOutcome.PENDING.value),
        explanation,
    )
    table = CampaignTarget.__table__
    columns = ["run_id", "member_id", "holdout", "chunk", "outcome", "explanation"]
    return table.insert().from_select([table.c[name] for name in columns], rows)


# --- issuing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkCounts:
    """What one call of :func:`issue_chunk` did (zero everywhere: nothing was left to do)."""

    issued: int = 0
    over_budget: int = 0
    over_limit: int = 0
    run_done: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def issue_chunk(
    session: Session, run_id: int, chunk: int, *, now: dt.datetime | None = None
) -> ChunkCounts:
    """Issue the coupons of chunk ``chunk`` of run ``run_id``: every pending target gets its
    coupon (outcome ``issued``), or ``over_limit`` or ``over_budget``; each coupon's delivery
    message is queued (``coupon_offer``, occasion ``campaign:<id>:<occasion>``).

    Idempotent and safe to run twice or concurrently (module docstring): targets no longer
    pending, or claimed by another transaction, are left alone; a cancelled campaign's chunks
    issue nothing.  Effects: coupons, target
    outcomes, ``campaign.committed_minor``, messages and their outbox row, one audit event
    ``campaign.issue``, and the run marked done when nothing is left pending.  Flushes.
    """
    now = (now or utcnow()).replace(microsecond=0)
    run = session.get(CampaignRun, run_id)
    if run is None:
        raise NotFound(f"no campaign run {run_id}")
    campaign = session.get(Campaign, run.campaign_id)
    assert campaign is not None  # a foreign key
    if campaign.status == CampaignStatus.CANCELLED:
        # Chunks queued before the cancel issue nothing; their targets stay pending (never
        # reached), and the resume leaves the run alone.
        return ChunkCounts()
    if is_postgres(session):
        # A chunk lost to a server crash after its commit is pending again and issued again
        # by the resume (atomically: coupons, outcomes and messages together), so its commit
        # need not wait for the disk.
        session.execute(text("SET LOCAL synchronous_commit = off"))
    targets = _claim(session, run_id, chunk)
    if not targets:
        return ChunkCounts(run_done=finish_run(session, run_id, now=now))
    over_limit = _over_limit(session, campaign, [m for _, m in targets], now)
    eligible = [(t, m) for t, m in targets if m not in over_limit]
    work = _Chunk(campaign, run, chunk, targets, over_limit, now)
    counts = _issue_within_budget(session, work, eligible)
    return replace(counts, run_done=finish_run(session, run_id, now=now))


@dataclass(frozen=True)
class _Chunk:
    campaign: Campaign
    run: CampaignRun
    chunk: int
    targets: list[tuple[int, int]]  # (target id, member id), claimed
    over_limit: set[int]  # member ids
    now: dt.datetime


def _issue_within_budget(
    session: Session, work: _Chunk, eligible: list[tuple[int, int]]
) -> ChunkCounts:
    """Issue to ``eligible`` as far as the budget goes; the cap is never crossed.

    Optimistic first: when the budget seems to cover the whole chunk, everything is written
    inside a savepoint and the chunk's cost is taken at the end by one conditional UPDATE
    (``... WHERE budget - committed >= cost``), so the campaign row is locked only from there
    to the commit and chunks of one campaign run side by side.  If another chunk took the money
    meanwhile, the savepoint is rolled back and the chunk done again holding the row's lock
    from the start, issuing what is left (the chunk at the budget's edge, once per run).
    """
    campaign = work.campaign
    cost = campaign.cost_per_coupon_minor
    if campaign.budget_minor is None or cost <= 0:
        return _issue(session, work, eligible)[0]
    if _room(campaign, len(eligible)) >= len(eligible):
        savepoint = session.begin_nested()
        counts, charged = _issue(session, work, eligible)
        if _charge(session, campaign, charged * cost):
            savepoint.commit()
            return counts
        savepoint.rollback()
    left = _lock_budget(session, campaign)
    counts, charged = _issue(session, work, eligible[:min(len(eligible), left // cost)])
    if not _charge(session, campaign, charged * cost):  # pragma: no cover - the row is ours
        raise RuntimeError("the budget changed under its lock")
    return counts


def _issue(
    session: Session, work: _Chunk, eligible: list[tuple[int, int]]
) -> tuple[ChunkCounts, int]:
    """Coupons for ``eligible``, every claimed target's outcome, the messages, the audit
    event.  Returns the counts and how many coupons were inserted now (what costs money)."""
    campaign, run = work.campaign, work.run
    # An automation's coupon carries the member's occasion (``birthday:2027``), not the day's
    # run: the coupon's unique key then allows one per member per year whatever the audience.
    occasion = coupon_occasion(run.occasion)
    coupons, new = _insert_coupons(session, campaign, occasion, eligible, work.now)
    issued = [t for t, m in work.targets if m in coupons]
    over_limit = [t for t, m in work.targets if m in work.over_limit]
    over_budget = [t for t, m in work.targets if m not in coupons and m not in work.over_limit]
    _set_outcome(session, issued, TargetOutcome.ISSUED)
    _set_outcome(session, over_limit, TargetOutcome.OVER_LIMIT)
    _set_outcome(session, over_budget, TargetOutcome.OVER_BUDGET)
    _queue_delivery(session, campaign, occasion, sorted(coupons.values()), work.now)
    record_event(session, SYSTEM_ACTOR, "campaign.issue", f"campaign:{campaign.id}",
                 run_id=run.id, occasion=run.occasion, chunk=work.chunk, issued=len(issued),
                 over_limit=len(over_limit), over_budget=len(over_budget))
    session.flush()
    return ChunkCounts(len(issued), len(over_budget), len(over_limit)), new


def _claim(session: Session, run_id: int, chunk: int) -> list[tuple[int, int]]:
    """(target id, member id) of the chunk's pending targets, in member order, locked."""
    target = CampaignTarget
    stmt = (
        select(target.id, target.member_id)
        .where(target.run_id == run_id, target.chunk == chunk,
               target.outcome == TargetOutcome.PENDING)
        .order_by(target.member_id)
        .with_for_update(skip_locked=True)  # SQLite: nothing to add, a writer is alone
    )
    return [(t, m) for t, m in session.execute(stmt)]


def _over_limit(
    session: Session, campaign: Campaign, member_ids: list[int], now: dt.datetime
) -> set[int]:
    """The members who already have their fill of campaign coupons (any campaign)."""
    if campaign.member_limit_count is None or campaign.member_limit_days is None:
        return set()
    if is_postgres(session):
        # Serialise limited campaigns per member; NO KEY UPDATE leaves foreign-key checks
        # (baskets, coupons of the member) unblocked.
        session.execute(select(Member.id).where(Member.id.in_(_id_set(session, member_ids)))
                        .order_by(Member.id).with_for_update(key_share=True))
    since = now - dt.timedelta(days=campaign.member_limit_days)
    full = (
        select(Coupon.member_id)
        .where(Coupon.member_id.in_(_id_set(session, member_ids)),
               Coupon.campaign_id.is_not(None), Coupon.issued_at > since)
        .group_by(Coupon.member_id)
        .having(func.count() >= campaign.member_limit_count)
    )
    return set(session.scalars(full))


def _room(campaign: Campaign, wanted: int) -> int:
    """How many coupons the budget seems to allow now (read without a lock: an estimate that
    spares inserting coupons only to delete them; :func:`_within_budget` decides)."""
    if campaign.budget_minor is None or campaign.cost_per_coupon_minor <= 0:
        return wanted
    left = max(campaign.budget_minor - campaign.committed_minor, 0)
    return min(wanted, left // campaign.cost_per_coupon_minor)


def _charge(session: Session, campaign: Campaign, amount: int) -> bool:
    """Add ``amount`` to what the campaign has committed, only if it stays within the budget:
    one conditional UPDATE, atomic on both databases (PostgreSQL re-checks the condition on the
    row as the previous writer left it).  Returns whether it was taken."""
    if amount == 0:
        return True
    table = Campaign.__table__
    taken = session.execute(
        update(table)
        .where(table.c.id == campaign.id,
               table.c.budget_minor - table.c.committed_minor >= amount)
        .values(committed_minor=table.c.committed_minor + amount),
        execution_options={"synchronize_session": False},
    ).rowcount == 1
    session.expire(campaign, ["committed_minor"])
    return taken


def _lock_budget(session: Session, campaign: Campaign) -> int:
    """Lock the campaign row until the commit and return what is left of its budget.

    NO KEY UPDATE: coupons inserted by other chunks hold KEY SHARE on this row (their foreign
    key); FOR UPDATE would wait for all of them, and two chunks would deadlock.
    """
    table = Campaign.__table__
    row = session.execute(
        select(table.c.committed_minor, table.c.budget_minor)
        .where(table.c.id == campaign.id).with_for_update(key_share=True)
    ).one()
    return max(row.budget_minor - row.committed_minor, 0)


def _insert_coupons(
    session: Session,
    campaign: Campaign,
    occasion: str,
    targets: Sequence[tuple[int, int]],
    now: dt.datetime,
) -> tuple[dict[int, int], int]:
    """Insert a coupon for each (target id, member id).  Returns member id -> coupon id for
    every one of them that has this occasion's coupon now, and how many were inserted now (a
    member who had it already keeps theirs, and costs nothing more)."""
    coupons: dict[int, int] = {}
    new = 0
    todo = list(targets)
    if not todo:
        return coupons, new
    offer = campaign_offer(campaign)
    valid_to = now + dt.timedelta(days=campaign.coupon_valid_days)
    for _ in range(CODE_ATTEMPTS):
        codes = dict(zip((t for t, _ in todo), new_codes(len(todo)), strict=True))
        rows = session.execute(_coupon_insert(session, campaign, occasion, offer, codes, now,
                                              valid_to)).all()
        new += len(rows)
        coupons.update({member_id: coupon_id for coupon_id, member_id in rows})
        missing = [(t, m) for t, m in todo if m not in coupons]
        if not missing:
            return coupons, new
        # Not inserted: the member had this occasion's coupon already, or the code clashed.
        had = dict(session.execute(select(Coupon.member_id, Coupon.id).where(
            Coupon.campaign_id == campaign.id, Coupon.occasion == occasion,
            Coupon.member_id.in_(_id_set(session, [m for _, m in missing])))).all())
        coupons.update(had)
        todo = [(t, m) for t, m in missing if m not in had]
        if not todo:
            return coupons, new
    raise RuntimeError("coupon codes clashed five times in a row: is the RNG broken?")


def campaign_offer(campaign: Campaign) -> Offer:
    """The campaign's offer as a coupon Offer; money in the campaign's currency."""
    return parse_offer(campaign.offer or {}, campaign.currency)


def _coupon_insert(
    session: Session,
    campaign: Campaign,
    occasion: str,
    offer: Offer,
    codes: dict[int, str],
    now: dt.datetime,
    valid_to: dt.datetime,
) -> Any:
    target = CampaignTarget.__table__
    table = Coupon.__table__
    code = _json_pairs(session, {str(t): c for t, c in codes.items()})
    constants = {
        "campaign_id": campaign.id, "occasion": occasion, "kind": OfferKind(offer.kind).value,
        "percent": offer.percent, "amount_minor": offer.amount_minor,
        "currency": offer.currency, "category_id": offer.category_id,
        "free_sku": offer.free_sku, "bonus_points": offer.bonus_points,
        "multiplier": offer.multiplier, "min_spend_minor": offer.min_spend_minor,
        "store_id": offer.store_id,
        "exclusive": offer.exclusive, "valid_from": now, "valid_to": valid_to,
        "status": CouponStatus.ISSUED.value, "issued_at": now,
    }
    columns = ["code", "member_id", "explanation", *constants]
    rows = select(
        code.c.value, target.c.member_id, target.c.explanation,
        *(_const(session, value, table.c[name].type) for name, value in constants.items()),
    ).select_from(target.join(code, target.c.id == cast(code.c.key, Integer))).where(true())
    dialect_insert = postgresql.insert if is_postgres(session) else sqlite.insert
    return (
        dialect_insert(table)
        .from_select([table.c[name] for name in columns], rows)
        .on_conflict_do_nothing()
        .returning(table.c.id, table.c.member_id)
    )


def _set_outcome(session: Session, target_ids: list[int], outcome: TargetOutcome) -> None:
    if not target_ids:
        return
    session.execute(
        update(CampaignTarget).where(CampaignTarget.id.in_(_id_set(session, target_ids)))
        .values(outcome=outcome),
        execution_options={"synchronize_session": False},
    )


def _queue_delivery(
    session: Session, campaign: Campaign, occasion: str, coupon_ids: list[int],
    now: dt.datetime,
) -> None:
    """The "a coupon for you" message for each coupon, through messaging's rules."""
    if not coupon_ids:
        return
    first = session.get(Coupon, coupon_ids[0])
    assert first is not None
    recipients = select(
        Coupon.member_id.label("member_id"),
        Coupon.code.label("code"),
        _text(describe_offer(offer_summary(first))).label("offer"),
        _text(first.valid_to.date().isoformat()).label("expires"),
    ).where(Coupon.id.in_(_id_set(session, coupon_ids)))
    queue_messages(session, MESSAGE_TEMPLATE, recipients, occasion_key(campaign.id, occasion),
                   channel=campaign.channel, now=now)


def occasion_key(campaign_id: int, occasion: str) -> str:
    """The messages' occasion: one "a coupon for you" per member, campaign and occasion."""
    return f"campaign:{campaign_id}:{occasion}"


def describe_offer(summary: dict[str, Any]) -> str:
    """A short, language-neutral statement of the offer for the message (numbers and codes)."""
    kind = summary["kind"]
    if kind == OfferKind.PERCENT_OFF:
        return f"-{summary['percent']}%"
    if kind == OfferKind.AMOUNT_OFF:
        return f"-{summary['amount_minor'] / 100:.2f} {summary.get('currency', '')}".strip()
    if kind == OfferKind.FREE_ITEM:
        return f"1 x {summary['free_sku']}"
    if kind == OfferKind.POINTS_MULTIPLIER:
        return f"x{summary['multiplier']} points"
    return f"+{summary['bonus_points']}"


# --- finishing, resuming, progress -----------------------------------------------------------


def finish_run(session: Session, run_id: int, *, now: dt.datetime | None = None) -> bool:
    """Mark the run done if no target is pending; returns whether it is done.

    Two last chunks committing at once each see the other's targets still pending, so the
    task calls this again in a transaction of its own after committing its chunk: the one that
    commits last then sees everything.
    """
    pending = exists().where(CampaignTarget.run_id == run_id,
                             CampaignTarget.outcome == TargetOutcome.PENDING)
    session.execute(
        update(CampaignRun)
        .where(CampaignRun.id == run_id, CampaignRun.status == RunStatus.PLANNED, ~pending)
        .values(status=RunStatus.DONE, finished_at=now or utcnow()),
        execution_options={"synchronize_session": False},
    )
    run = session.get(CampaignRun, run_id)
    if run is None:
        return False
    session.refresh(run, ["status", "finished_at"])
    return run.status == RunStatus.DONE


def pending_chunks(session: Session, run_id: int) -> list[int]:
    return list(session.scalars(
        select(CampaignTarget.chunk).distinct()
        .where(CampaignTarget.run_id == run_id, CampaignTarget.outcome == TargetOutcome.PENDING)
        .order_by(CampaignTarget.chunk)
    ))


def resume_run(session: Session, run_id: int) -> list[int]:
    """Hand every chunk that still has pending targets to the workers again (after commit).

    Harmless when a chunk is already queued or running: the copy that comes second finds
    nothing to claim.  With no chunk left, the run is marked done.  Returns the chunks
    queued.  Flushes.
    """
    chunks = pending_chunks(session, run_id)
    for chunk in chunks:
        enqueue(session, ISSUE_CHUNK_TASK, run_id=run_id, chunk=chunk)
    if not chunks:
        finish_run(session, run_id)  # nobody left to treat (or nobody at all)
    return chunks


def start_run(
    session: Session,
    campaign: Campaign,
    occasion: str,
    audience: Select[Any],
    *,
    chunk_size: int = CHUNK_SIZE,
    now: dt.datetime | None = None,
) -> CampaignRun:
    """Plan the run (:func:`plan_run`) and queue one ``campaigns.issue_chunk`` task per chunk
    with pending targets, through the outbox (sent after the commit).  Starting a run already
    started queues its unfinished chunks again, which is harmless.  Flushes, never commits."""
    run = plan_run(session, campaign, occasion, audience, chunk_size=chunk_size, now=now)
    if run.status == RunStatus.PLANNED:
        resume_run(session, run.id)
    return run


def stalled_runs(session: Session, now: dt.datetime, quiet_for: dt.timedelta) -> list[int]:
    """Runs still planned whose newest coupon (or planning) is older than ``quiet_for``: their
    chunks' tasks were lost (a worker killed with its message unacknowledged waits for
    the broker's visibility timeout, an hour on Redis)."""
    newest = (
        select(func.max(Coupon.issued_at))
        .where(Coupon.campaign_id == CampaignRun.campaign_id,
               Coupon.occasion == CampaignRun.occasion)
        .scalar_subquery()
    )
    since = now - quiet_for
    return list(session.scalars(
        select(CampaignRun.id)
        .join(Campaign, Campaign.id == CampaignRun.campaign_id)
        .where(CampaignRun.status == RunStatus.PLANNED, CampaignRun.planned_at < since,
               Campaign.status != CampaignStatus.CANCELLED,
               func.coalesce(newest, CampaignRun.planned_at) < since)
        .order_by(CampaignRun.id)
    ))


@dataclass(frozen=True)
class RunProgress:
    """Where a run stands, for the pages: chunks and targets by outcome."""

    run_id: int
    campaign_id: int
    occasion: str
    status: str
    chunks_total: int
    chunks_done: int
    targets: int
    pending: int
    issued: int
    over_budget: int
    over_limit: int
    holdout: int
    planned_at: dt.datetime
    finished_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_progress(session: Session, run_id: int) -> RunProgress:
    """Counts of the run's targets by outcome, and chunks done (none of their targets
    pending) out of all.  Two queries over the run's targets.  NotFound for an unknown run."""
    run = session.get(CampaignRun, run_id)
    if run is None:
        raise NotFound(f"no campaign run {run_id}")
    counts = {str(outcome): count for outcome, count in session.execute(
        select(CampaignTarget.outcome, func.count())
        .where(CampaignTarget.run_id == run_id).group_by(CampaignTarget.outcome)
    )}
    unfinished = session.scalar(
        select(func.count(func.distinct(CampaignTarget.chunk)))
        .where(CampaignTarget.run_id == run_id, CampaignTarget.outcome == TargetOutcome.PENDING)
    ) or 0
    return RunProgress(
        run_id=run.id, campaign_id=run.campaign_id, occasion=run.occasion,
        status=str(run.status), chunks_total=run.chunks,
        chunks_done=run.chunks - unfinished, targets=run.targets,
        pending=counts.get(TargetOutcome.PENDING, 0), issued=counts.get(TargetOutcome.ISSUED, 0),
        over_budget=counts.get(TargetOutcome.OVER_BUDGET, 0),
        over_limit=counts.get(TargetOutcome.OVER_LIMIT, 0),
        holdout=counts.get(TargetOutcome.HOLDOUT, 0),
        planned_at=run.planned_at, finished_at=run.finished_at,
    )


# --- SQL helpers, one per dialect difference -------------------------------------------------


def _text(value: str) -> Any:
    # Typed, so PostgreSQL's json_build_object knows what it gets (an untyped parameter fails).
    return cast(literal(value, String), String)


def _const(session: Session, value: Any, type_: Any) -> Any:
    """A constant column of an INSERT ... SELECT.  PostgreSQL needs its type spelled (an untyped
    NULL would be text); SQLite must not get a CAST to DATETIME (numeric affinity)."""
    bound = literal(value, type_)
    return cast(bound, type_) if is_postgres(session) else bound


def _json_object(session: Session, pairs: list[tuple[str, Any]]) -> Any:
    args: list[Any] = []
    for key, value in pairs:
        args += [_text(key), value]
    if is_postgres(session):
        return func.json_build_object(*args)
    return func.json_object(*args)


def _json_literal(session: Session, value: Any) -> Any:
    text = json.dumps(value)
    if is_postgres(session):
        return cast(literal(text, String), JSON)
    return func.json(literal(text, String))


def _json_pairs(session: Session, mapping: dict[str, str]) -> Any:
    """A table (key, value) of text from a JSON object passed as one parameter: how a chunk's
    thousands of codes reach an INSERT ... SELECT in one statement on both databases."""
    text = literal(json.dumps(mapping), String)
    if is_postgres(session):
        return func.json_each_text(cast(text, JSON)).table_valued("key", "value").alias("pairs")
    return func.json_each(text).table_valued("key", "value").alias("pairs")


def _id_set(session: Session, ids: Sequence[int]) -> Select[Any]:
    """``SELECT id`` from a JSON array passed as one parameter (thousands of ids, one bind)."""
    text = literal(json.dumps(list(ids)), String)
    if is_postgres(session):
        values = func.json_array_elements_text(cast(text, JSON)).table_valued("value")
    else:
        values = func.json_each(text).table_valued("value")
    return select(cast(values.c.value, Integer))
