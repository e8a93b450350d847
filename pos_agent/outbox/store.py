"""The outbox's store: the sales (``sale``) and the coupons they used (``coupon_use``).

A sale is a row with an idempotency key made here (uuid4) and a sequence number that fixes its
order, in one of three states: ``pending``, ``delivered`` (its answer kept), ``dead`` (the
back office refused it; kept with the problem).  :meth:`SaleStore.add` returns only once the
row is on disk (the file is ``synchronous=FULL``); a payment card number is never queued.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from loyalty.cards.numbers import looks_like_payment_card
from loyalty.coupons.codes import MalformedCode, normalise_code
from pos_agent.localdb import LocalFile, from_iso, iso, utcnow

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"

SCHEMA = """
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


class SaleStore(LocalFile):
    """The till's side of the outbox: queue sales, read their state, keep dead letters."""

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

    def _queue_status(self) -> dict[str, Any]:
        """Depth, dead letters and the oldest pending sale, for ``Outbox.status``."""
        with self._lock:
            counts = dict(self._db.execute(
                "SELECT state, count(*) FROM sale WHERE state != ? GROUP BY state",
                (DELIVERED,)).fetchall())
            oldest = self._db.execute("SELECT min(added_at) FROM sale WHERE state = ?",
                                      (PENDING,)).fetchone()[0]
        return {"depth": counts.get(PENDING, 0), "dead_letters": counts.get(DEAD, 0),
                "oldest_pending_at": oldest}


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
