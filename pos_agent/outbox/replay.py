"""The outbox's replay: deliver pending sales to the back office, in order, in lanes.

2xx: delivered, the answer kept.  4xx: a dead letter; the replay goes on.  Offline (timeout,
dropped connection, 5xx, 429, key in flight) or 401: stop and back off.  Each member's sales
(and each coupon's) go in the order they were added; sales that share neither go in up to
``lanes`` concurrent batches (pos_agent/lanes.py says why that changes nothing the back office
records).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pos_agent import lanes as replay_lanes
from pos_agent.client import BackOffice, Offline, Refused, answer
from pos_agent.localdb import iso, utcnow
from pos_agent.outbox.store import DEAD, DELIVERED, PENDING, SaleStore, _coupon_key
from pos_agent.outbox.sync import SyncState

log = logging.getLogger(__name__)

# A back office without the batch endpoint is asked again after this long (it may be upgraded).
BATCH_RECHECK_S = 900.0
# Delivered rows (and their answers) are kept this long, then pruned by replay.
KEEP_DELIVERED = dt.timedelta(days=7)
# 401 is about the till's token, not the sale: stop and keep the sale queued.
HALT_STATUSES = frozenset({401})


@dataclass
class ReplayReport:
    """What one :meth:`Outbox.replay` did.  ``stopped`` says why it stopped early, if it did."""

    delivered: int = 0
    dead: int = 0
    remaining: int = 0
    stopped: str | None = None
    skipped: bool = False  # not due yet (backing off) or another replay is running
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.stopped is None and not self.skipped

    @property
    def offline(self) -> bool:
        """The replay stopped because the back office could not be reached (or let us in)."""
        return self.stopped is not None


Outcome = tuple[str, str, int | None, dict]  # key, state, HTTP status, answer or problem


class _Stop(Exception):
    """A replay must stop here: the back office is unreachable, or the till is not let in.

    ``outcomes`` are the final answers received before the stop; they are recorded.
    """

    def __init__(self, reason: str, outcomes: list[Outcome] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.outcomes = outcomes or []


class Replay(SaleStore, SyncState):
    """Replaying the store's pending sales, and recording what the back office said."""

    batch_size: int
    lanes: int
    _replaying: threading.Lock
    _batch_off_until: float  # monotonic time until which we commit one by one

    def replay(self, client: BackOffice, *, now: dt.datetime | None = None, force: bool = False,
               use_batch: bool | None = None) -> ReplayReport:
        """Deliver pending sales until the queue is empty or the back office fails: each
        member's in order, up to ``lanes`` batches at once (pos_agent/lanes.py).

        2xx: delivered, the answer kept.  4xx: dead letter (with the problem); replay goes on.
        Offline (timeout, dropped connection, 5xx, 429, key in flight) or 401: stop, record
        ``last_error`` and back off (:meth:`due`).  Skipped, unless ``force``, while backing
        off; skipped if another thread of this process is replaying.

        ``use_batch``: None (default) uses ``POST /checkouts/batch`` and commits one by one
        when the batch is refused (404/405: for the next 15 minutes; another 4xx: this chunk);
        False always commits one by one; True never falls back.
        """
        started = time.monotonic()
        report = ReplayReport()
        if not force and not self.due(now):
            report.skipped = True
        elif not self._replaying.acquire(blocking=False):
            report.skipped = True
        else:
            try:
                self._replay(client, report, use_batch, now)
            finally:
                self._replaying.release()
        report.remaining = self.depth()
        report.seconds = time.monotonic() - started
        if report.delivered or report.dead or report.stopped:
            # counts and the reason only: never a body (it holds the card number)
            log.info("replay: %d delivered, %d dead letters, %d remaining in %.2f s%s",
                     report.delivered, report.dead, report.remaining, report.seconds,
                     f"; stopped: {report.stopped}" if report.stopped else "")
        return report

    def _replay(self, client: BackOffice, report: ReplayReport, use_batch: bool | None,
                now: dt.datetime | None) -> None:
        while True:
            rows = self._read("SELECT key, body, member_id FROM sale WHERE state = ? "
                              "ORDER BY seq LIMIT ?", (PENDING, self.batch_size * self.lanes))
            if not rows:
                break
            window = [(key, json.loads(body), member_id) for key, body, member_id in rows]
            outcomes, report.stopped = self._deliver_window(client, window, use_batch)
            self._record(outcomes, report)
            if report.stopped is not None:
                self.mark_offline(report.stopped, now)
                return
        if not (report.delivered or report.dead):
            return  # nothing was sent: an empty queue says nothing about the back office
        now = now or utcnow()
        with self._tx() as db:
            self._set(db, online="1", failures="0", next_attempt_at=None,
                      last_sync=iso(now), last_contact=iso(now))
            db.execute("DELETE FROM sale WHERE state = ? AND done_at < ?",
                       (DELIVERED, iso(now - KEEP_DELIVERED)))

    def _deliver_window(self, client: BackOffice, window: list[tuple[str, dict, int | None]],
                        use_batch: bool | None) -> tuple[list[Outcome], str | None]:
        """Send the window's sales, its lanes at once; every final answer, and why it stopped.

        A window that fits one batch is one request, as without lanes.  A lane that stops
        (offline) leaves the others to finish what they hold: their sales share nothing with
        the stopped lane's, so delivering them first keeps every member's order.
        """
        if len(window) <= self.batch_size:
            lanes = [window]
        else:
            lanes = replay_lanes.split(window, self.lanes, lambda sale: replay_lanes.sale_conflicts(
                sale[2], sale[1], _coupon_key))
        results: list[tuple[list[Outcome], str | None]] = [([], None)] * len(lanes)
        failures: list[BaseException] = []

        def run(n: int) -> None:
            try:
                results[n] = self._deliver_lane(client, [(k, b) for k, b, _m in lanes[n]],
                                                use_batch)
            except BaseException as exc:  # a lane thread's bug surfaces in the caller's thread
                if not n:
                    raise
                failures.append(exc)
            finally:
                if n:
                    client.close()  # this thread's connection: the thread ends here

        threads = [threading.Thread(target=run, args=(n,), name=f"replay-lane-{n}", daemon=True)
                   for n in range(1, len(lanes))]
        for thread in threads:
            thread.start()
        try:
            run(0)
        finally:
            for thread in threads:
                thread.join()
        if failures:
            # As with one lane: the caller hears of it; unrecorded answers are sent again.
            raise failures[0]
        outcomes = [o for lane_outcomes, _stop in results for o in lane_outcomes]
        return outcomes, next((stop for _o, stop in results if stop is not None), None)

    def _deliver_lane(self, client: BackOffice, sales: list[tuple[str, dict]],
                      use_batch: bool | None) -> tuple[list[Outcome], str | None]:
        """One lane's sales, a batch at a time, in order, until done or stopped."""
        outcomes: list[Outcome] = []
        for start in range(0, len(sales), self.batch_size):
            try:
                outcomes += self._deliver(client, sales[start:start + self.batch_size],
                                          use_batch)
            except _Stop as stop:
                return outcomes + stop.outcomes, stop.reason
        return outcomes, None

    def _deliver(self, client: BackOffice, items: list[tuple[str, dict]],
                 use_batch: bool | None) -> list[Outcome]:
        """Send ``items``; the outcome of each final answer as ``(key, state, status, body)``.

        Raises :class:`_Stop` (with the outcomes so far) when the replay must stop.
        """
        batch_wanted = use_batch is True or (use_batch is None
                                             and time.monotonic() >= self._batch_off_until)
        if batch_wanted:
            try:
                return self._deliver_batch(client, items)
            except Refused as exc:
                # The envelope was refused (no batch endpoint, too large, one item it cannot
                # read): each sale then gets its own verdict, so one bad sale cannot stall all.
                if use_batch or exc.status in HALT_STATUSES:
                    raise _Stop(f"batch refused: {exc}") from None
                if exc.status in (404, 405):
                    self._batch_off_until = time.monotonic() + BATCH_RECHECK_S
        return self._deliver_one_by_one(client, items)

    def _deliver_batch(self, client: BackOffice,
                       items: list[tuple[str, dict]]) -> list[Outcome]:
        try:
            results = client.commit_batch(items)
        except Offline as exc:
            raise _Stop(str(exc)) from None
        outcomes: list[Outcome] = []
        for (key, _body), result in zip(items, results, strict=True):
            if not isinstance(result, dict) or result.get("idempotency_key") != key:
                raise _Stop("the batch answer is out of order", outcomes)
            status = int(result.get("status") or 0)
            try:
                outcomes.append(_outcome(key, status, lambda s=status, r=result: answer(
                    s, r.get("body"), "batch item")))
            except _Stop as stop:
                # Items after it may have been recorded by the back office; they are sent
                # again next time and answered from its idempotency store.
                raise _Stop(stop.reason, outcomes) from None
        return outcomes

    def _deliver_one_by_one(self, client: BackOffice,
                            items: list[tuple[str, dict]]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for key, body in items:
            try:
                outcomes.append(_outcome(key, None, lambda k=key, b=body: client.commit(b, k)))
            except _Stop as stop:
                raise _Stop(stop.reason, outcomes) from None
        return outcomes

    def _record(self, outcomes: list[Outcome], report: ReplayReport) -> None:
        """Mark a chunk of answers in one transaction (delivered marks need no fsync each:
        a lost mark only means the sale is sent again and answered from the idempotency store).
        """
        if not outcomes:
            return
        done = iso(utcnow())
        with self._tx() as db:
            db.executemany(
                "UPDATE sale SET state = ?, status = ?, answer = ?, done_at = ?, "
                "attempts = attempts + 1 WHERE key = ? AND state = ?",
                [(state, status, json.dumps(body), done, key, PENDING)
                 for key, state, status, body in outcomes])
        report.delivered += sum(1 for o in outcomes if o[1] == DELIVERED)
        for key, state, status, problem in outcomes:
            if state == DEAD:
                report.dead += 1
                log.warning("sale %s refused by the back office (%s %s): kept as a dead letter",
                            key, status, problem.get("code"))


def _outcome(key: str, status: int | None, send: Callable[[], Any]) -> Outcome:
    """Run ``send()``; a 2xx is delivered, a 4xx dead; stopping errors raise :class:`_Stop`."""
    try:
        body = send()
    except Offline as exc:
        raise _Stop(str(exc)) from None
    except Refused as exc:
        if exc.status in HALT_STATUSES:
            raise _Stop(str(exc)) from None
        return key, DEAD, exc.status, {**exc.problem, "code": exc.code, "status": exc.status}
    return key, DELIVERED, status, body if isinstance(body, dict) else {"answer": body}
