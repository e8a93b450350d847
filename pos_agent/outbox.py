"""The outbox: every sale the till commits, durable on disk until the back office has it.

One SQLite file per till (WAL, ``synchronous=FULL``).  A sale is a row with an idempotency key
made here (uuid4) and a sequence number that fixes its order.  A row is in one of three states:

- ``pending``: not yet acknowledged by the back office;
- ``delivered``: the back office answered 2xx; its answer is kept (:meth:`Outbox.result`);
- ``dead``: the back office refused it (4xx); kept with the problem, never dropped, shown by
  :meth:`Outbox.dead_letters`, and put back in the queue by :meth:`Outbox.requeue`.

Invariants:

- :meth:`Outbox.add` returns only after the row is committed with a full fsync: a sale it
  returned for survives a kill -9 or a power cut.
- The back office sees each key as one sale however often it is sent, so the outbox sends
  "at least once" and the sale is recorded exactly once: a crash between the back office's
  commit and ours only means the sale is sent again and the back office replays its answer.
- Each member's sales (and each coupon's) are delivered in the order they were added; sales
  that share neither go in up to ``lanes`` concurrent batches (pos_agent/lanes.py says why
  that changes nothing the back office records).  A refused sale does not hold up the rest, a
  failure to reach the back office stops the replay (and the next one waits, with backoff).
- A payment card number is never queued: :meth:`Outbox.add` refuses a body carrying one.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loyalty.cards.numbers import looks_like_payment_card
from loyalty.coupons.codes import MalformedCode, normalise_code
from pos_agent import lanes as replay_lanes
from pos_agent.client import BATCH_LIMIT, BackOffice, Offline, Refused, answer
from pos_agent.localdb import LocalFile, from_iso, iso, utcnow

log = logging.getLogger(__name__)

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
# Backoff after a failed replay: 1 s, 2 s, 4 s ... at most 60 s, plus up to 10 % jitter so the
# tills of a chain do not all knock at once when the back office returns.
BACKOFF_BASE_S, BACKOFF_CAP_S, BACKOFF_JITTER = 1.0, 60.0, 0.1
# A back office without the batch endpoint is asked again after this long (it may be upgraded).
BATCH_RECHECK_S = 900.0
# Delivered rows (and their answers) are kept this long, then pruned by replay.
KEEP_DELIVERED = dt.timedelta(days=7)
# 401 is about the till's token, not the sale: stop and keep the sale queued.
HALT_STATUSES = frozenset({401})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sale (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    member_id INTEGER,
    redeem_points INTEGER NOT NULL DEFAULT 0 CHECK (redeem_points >= 0),
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    added_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    done_at TEXT,
    status INTEGER,
    answer TEXT
);
CREATE INDEX IF NOT EXISTS sale_state ON sale (state, seq);
CREATE INDEX IF NOT EXISTS sale_member ON sale (member_id, state);
CREATE TABLE IF NOT EXISTS coupon_use (
    code TEXT PRIMARY KEY,
    key TEXT NOT NULL  -- the sale that used it; kept after the sale row is pruned
);
CREATE TABLE IF NOT EXISTS sync (
    name TEXT PRIMARY KEY,
    value TEXT
);
"""


@dataclass(frozen=True)
class DeadLetter:
    """A sale the back office refused.  ``body`` is left out of the repr (it holds a card)."""

    key: str
    seq: int
    status: int
    code: str
    problem: dict[str, Any]
    added_at: dt.datetime
    dead_at: dt.datetime
    body: dict[str, Any] = field(repr=False)

    @property
    def reason(self) -> str:
        """One line for a person: the problem's detail, else its title, else its code."""
        return str(self.problem.get("detail") or self.problem.get("title") or self.code)


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


class Outbox(LocalFile):
    """The till's durable queue of sales.  Thread-safe; several processes may open one file."""

    def __init__(self, path: Path | str, *, batch_size: int = BATCH_LIMIT,
                 lanes: int = replay_lanes.DEFAULT_LANES) -> None:
        """Open (or create) the outbox file.  ``batch_size``: sales per batch request (1..100);
        ``lanes``: batch requests in flight at once while replaying (1..8; 1 is strictly one
        sale after another)."""
        if not 1 <= batch_size <= BATCH_LIMIT:
            raise ValueError(f"batch_size must be 1..{BATCH_LIMIT}")
        if not 1 <= lanes <= replay_lanes.MAX_LANES:
            raise ValueError(f"lanes must be 1..{replay_lanes.MAX_LANES}")
        self.batch_size, self.lanes = batch_size, lanes
        super().__init__(path, _SCHEMA, synchronous="FULL")
        self._replaying = threading.Lock()
        self._batch_off_until = 0.0  # monotonic time until which we commit one by one

    # -- the till's side ----------------------------------------------------------------------

    def add(self, body: dict, *, member_id: int | None, redeem_points: int,
            coupon_codes: list[str], now: dt.datetime | None = None) -> str:
        """Queue a sale; return its idempotency key once the row is on disk (fsync'd).

        ``member_id`` and ``redeem_points`` feed :meth:`pending_redemptions`; ``coupon_codes``
        are marked used locally (:meth:`coupon_used_locally`).  Raises ``ValueError`` (and
        queues nothing) for a body that is not JSON, carries a payment card number, or a coupon
        already used by another queued sale.
        """
        return self.add_many([(body, member_id, redeem_points, coupon_codes)], now=now)[0]

    def add_many(self, sales: Iterable[tuple[dict, int | None, int, list[str]]], *,
                 now: dt.datetime | None = None) -> list[str]:
        """Queue several sales ``(body, member_id, redeem_points, coupon_codes)`` in one
        transaction (one fsync): all or none, in order.  Same rules as :meth:`add`; for imports
        and benchmarks, since a till adds one sale at a time."""
        added_at = iso(now or utcnow())
        rows, uses = [], []
        for body, member_id, redeem_points, coupon_codes in sales:
            key = uuid.uuid4().hex
            rows.append((key, _sale_text(body, redeem_points), member_id, redeem_points,
                         added_at))
            uses += [(code, key) for code in sorted({_coupon_key(c) for c in coupon_codes})]
        try:
            with self._tx() as db:
                db.executemany("INSERT INTO sale (key, body, member_id, redeem_points, added_at)"
                               " VALUES (?, ?, ?, ?, ?)", rows)
                db.executemany("INSERT INTO coupon_use (code, key) VALUES (?, ?)", uses)
        except sqlite3.IntegrityError:
            raise ValueError("a coupon of this sale was already used at this till") from None
        return [row[0] for row in rows]

    def depth(self) -> int:
        """Sales not yet delivered (dead letters not included)."""
        return int(self._read("SELECT count(*) FROM sale WHERE state = ?", (PENDING,))[0][0])

    def pending_redemptions(self, member_id: int, since: dt.datetime | None = None) -> int:
        """Points this till redeemed for the member that a cached balance may not show yet.

        Counts sales not delivered (pending, and dead letters: the customer had the points even
        if the back office refused the sale).  With ``since`` (the cached balance's
        ``fetched_at``), also sales delivered at or after it, which that balance predates.
        """
        sql = "SELECT coalesce(sum(redeem_points), 0) FROM sale WHERE member_id = ? AND "
        if since is None:
            rows = self._read(sql + "state != ?", (member_id, DELIVERED))
        else:
            rows = self._read(sql + "(state != ? OR done_at >= ?)",
                              (member_id, DELIVERED, iso(since)))
        return int(rows[0][0])

    def coupon_used_locally(self, code: str) -> bool:
        """True once a sale holding this coupon was added here (coupons are single use)."""
        return bool(self._read("SELECT 1 FROM coupon_use WHERE code = ?", (_coupon_key(code),)))

    def result(self, key: str) -> dict | None:
        """The back office's answer to a delivered sale (None while pending or dead)."""
        rows = self._read("SELECT answer FROM sale WHERE key = ? AND state = ?", (key, DELIVERED))
        return json.loads(rows[0][0]) if rows and rows[0][0] else None

    def state(self, key: str) -> str | None:
        """``pending``, ``delivered`` or ``dead``; None for an unknown (or pruned) key."""
        rows = self._read("SELECT state FROM sale WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def dead_letters(self) -> list[DeadLetter]:
        """Every refused sale, oldest first, with the back office's problem."""
        rows = self._read("SELECT key, seq, status, answer, added_at, done_at, body FROM sale "
                          "WHERE state = ? ORDER BY seq", (DEAD,))
        letters = []
        for key, seq, status, problem, added, done, body in rows:
            problem = json.loads(problem) if problem else {}
            letters.append(DeadLetter(key, seq, status, str(problem.get("code", "")), problem,
                                      from_iso(added), from_iso(done), json.loads(body)))
        return letters

    def requeue(self, key: str) -> bool:
        """Put a dead letter back at its place in the queue (after someone fixed the cause)."""
        with self._tx() as db:
            cur = db.execute("UPDATE sale SET state = ?, done_at = NULL, status = NULL, "
                             "answer = NULL WHERE key = ? AND state = ?", (PENDING, key, DEAD))
        return cur.rowcount == 1

    # -- sync state ---------------------------------------------------------------------------

    def _get(self, name: str) -> str | None:
        rows = self._read("SELECT value FROM sync WHERE name = ?", (name,))
        return rows[0][0] if rows else None

    def _set(self, db: sqlite3.Connection, **values: str | None) -> None:
        db.executemany("INSERT INTO sync (name, value) VALUES (?, ?) "
                       "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                       list(values.items()))

    def due(self, now: dt.datetime | None = None) -> bool:
        """Whether a replay may run now (False while backing off after a failure)."""
        next_at = self._get("next_attempt_at")
        return next_at is None or (now or utcnow()) >= from_iso(next_at)

    def next_attempt_at(self) -> dt.datetime | None:
        next_at = self._get("next_attempt_at")
        return from_iso(next_at) if next_at else None

    def mark_online(self, now: dt.datetime | None = None) -> None:
        """The back office answered (any call): end the backoff so a replay can run at once."""
        with self._tx() as db:
            self._set(db, online="1", failures="0", next_attempt_at=None,
                      last_contact=iso(now or utcnow()))

    def mark_offline(self, error: str, now: dt.datetime | None = None) -> dt.datetime:
        """The back office did not answer: record why and back off; returns the next attempt.

        ``error`` must not hold a card number (:class:`~pos_agent.client.Offline` messages
        never do).
        """
        now = now or utcnow()
        with self._tx() as db:
            row = db.execute("SELECT value FROM sync WHERE name = 'failures'").fetchone()
            failures = int(row[0] or 0) + 1 if row else 1
            next_at = now + dt.timedelta(seconds=backoff_seconds(failures))
            self._set(db, online="0", failures=str(failures), next_attempt_at=iso(next_at),
                      last_error=error[:500], last_error_at=iso(now))
        return next_at

    def status(self) -> dict[str, Any]:
        """For ``pos-agent status``: queue depth, dead letters, last sync, last error, online.

        ``online`` is None until the back office was tried once.  Readable from another process
        while the agent runs (WAL readers do not block the writer).
        """
        with self._lock:
            counts = dict(self._db.execute(
                "SELECT state, count(*) FROM sale WHERE state != ? GROUP BY state",
                (DELIVERED,)).fetchall())
            oldest = self._db.execute("SELECT min(added_at) FROM sale WHERE state = ?",
                                      (PENDING,)).fetchone()[0]
            sync = dict(self._db.execute("SELECT name, value FROM sync").fetchall())
        online = sync.get("online")
        return {
            "depth": counts.get(PENDING, 0),
            "dead_letters": counts.get(DEAD, 0),
            "oldest_pending_at": oldest,
            "online": None if online is None else online == "1",
            "last_sync": sync.get("last_sync"),  # the last replay that delivered all
            "last_error": sync.get("last_error"),
            "last_error_at": sync.get("last_error_at"),
            "next_attempt_at": sync.get("next_attempt_at"),
        }

    # -- replay -------------------------------------------------------------------------------

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


def backoff_seconds(failures: int) -> float:
    """Wait after ``failures`` failed replays in a row: doubling from 1 s, capped, jittered."""
    delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (max(failures, 1) - 1))
    return delay * (1 + random.uniform(0, BACKOFF_JITTER))  # noqa: S311 (jitter, not security)


def _sale_text(body: dict, redeem_points: int) -> str:
    """The body as stored; ``ValueError`` for what must not or cannot be queued."""
    if redeem_points < 0:
        raise ValueError("redeem_points cannot be negative")
    card = body.get("card_number")
    if isinstance(card, str) and looks_like_payment_card(card):
        raise ValueError("a payment card number may not be queued")
    try:
        return json.dumps(body, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the sale is not JSON: {exc}") from None


def _coupon_key(code: str) -> str:
    """Coupons are compared in canonical form; anything else (a signed payload's id) as is."""
    try:
        return normalise_code(code)
    except MalformedCode:
        return code.strip()
