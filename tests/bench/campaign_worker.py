"""The campaigns benchmark's pipeline, as a Celery task run by a real worker.

``make bench BENCH=campaigns`` starts ``celery worker --pool solo -I tests.bench.campaign_worker``
(one process: the task runs in the worker's own process, so its peak memory is the worker's)
and sends ``bench.campaign_pipeline``.  The task runs what production runs, in the order a
campaign needs it: the nightly insight rebuild (``rebuild_members``, as the ``insight.rebuild``
task does), the segment's count, then the campaign run planned (``plan_run``) and issued chunk
by chunk (the body of the ``campaigns.issue_chunk`` task); then, outside the pipeline, the
nightly affinities (the ``insight.rebuild_affinities`` task).  Its figures go to a JSON file:
the worker has no result backend.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from celery import shared_task
from flask import current_app
from sqlalchemy import func, select

from loyalty.campaigns.issuing import finish_run, issue_chunk, plan_run
from loyalty.campaigns.models import Campaign, CampaignKind, CampaignStatus
from loyalty.db import unit_of_work, utcnow
from loyalty.extensions import database
from loyalty.insight.affinity import rebuild_affinities
from loyalty.insight.models import MemberInsight
from loyalty.insight.services import rebuild_members
from loyalty.members.models import Member
from loyalty.segments.services import compile_checked

PIPELINE = "bench.campaign_pipeline"


def memory_kib(field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


class _Steps(logging.Handler):
    """Collects the rebuild's ``insight rebuild: <step>`` timings."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seconds: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        step = getattr(record, "rebuild_step", None)
        if step is not None:
            self.seconds[step] = record.seconds  # type: ignore[attr-defined]


@shared_task(name=PIPELINE, ignore_result=True)
def campaign_pipeline(rule: dict[str, Any], offer: dict[str, Any], out: str) -> None:
    factory = database(current_app).session_factory
    figures: dict[str, Any] = {"rss_start_kib": memory_kib("VmRSS")}
    steps = _Steps()
    logger = logging.getLogger("loyalty.insight.services")
    logger.addHandler(steps)
    logger.setLevel(logging.INFO)
    started = time.perf_counter()
    with unit_of_work(factory) as session:
        figures["members_scored"] = rebuild_members(session, utcnow().date())
    figures["rebuild_s"] = time.perf_counter() - started
    figures["rebuild_steps_s"] = steps.seconds
    logger.removeHandler(steps)
    figures["rss_after_rebuild_kib"] = memory_kib("VmRSS")

    mark = time.perf_counter()
    with unit_of_work(factory) as session:
        query = compile_checked(session, rule).query
        figures["segment_members"] = session.scalar(
            select(func.count()).select_from(query.subquery()))
    figures["segment_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    with unit_of_work(factory) as session:
        now = utcnow()
        campaign = Campaign(
            name=f"Bench win-back {now.isoformat()}", kind=CampaignKind.TARGETED,
            status=CampaignStatus.RUNNING, audience=rule, offer=offer, currency="AED",
            starts_at=now, ends_at=now.replace(year=now.year + 1), created_by="bench",
            holdout_percent=10)
        session.add(campaign)
        session.flush()
        # The lifecycle's audience_for shape: member_id, then the values that matched.
        audience = query.with_only_columns(
            Member.id.label("member_id"), MemberInsight.segment.label("segment"),
            MemberInsight.recency_days.label("recency_days"))
        run = plan_run(session, campaign, "launch", audience)
        run_id, chunks = run.id, run.chunks
        figures["targets"], figures["holdout"] = run.targets, run.holdout
    figures["plan_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    issued = 0
    for chunk in range(chunks):
        with unit_of_work(factory) as session:  # one transaction per chunk, as the task does
            issued += issue_chunk(session, run_id, chunk).issued
    with unit_of_work(factory) as session:
        figures["run_done"] = finish_run(session, run_id)
    figures["issue_s"] = time.perf_counter() - mark
    figures["issued"], figures["chunks"] = issued, chunks
    figures["pipeline_s"] = time.perf_counter() - started
    figures["peak_kib"] = memory_kib("VmHWM")
    # The nightly affinities task, after the pipeline (campaigns do not wait for it).
    mark = time.perf_counter()
    with unit_of_work(factory) as session:
        figures["affinity_rules"] = rebuild_affinities(session, utcnow().date())
    figures["affinities_s"] = time.perf_counter() - mark
    figures["peak_with_affinities_kib"] = memory_kib("VmHWM")
    Path(out).write_text(json.dumps(figures))
