"""The outbox's sync state: whether the back office answered, when to try again.

One ``sync`` table of named values in the outbox's file: ``online``, ``failures``,
``next_attempt_at`` (the backoff), ``last_contact``, ``last_sync`` (the last replay that
delivered everything), ``last_error`` and ``last_error_at``.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3

from pos_agent.localdb import LocalFile, from_iso, iso, utcnow

# Backoff after a failed replay: 1 s, 2 s, 4 s ... at most 60 s, plus up to 10 % jitter so the
# tills of a chain do not all knock at once when the back office returns.
BACKOFF_BASE_S, BACKOFF_CAP_S, BACKOFF_JITTER = 1.0, 60.0, 0.1

# The rule for "is the back office online?" (pos-agent status, GET /status):
# - online: its last answer came after the last failure, and at most STALE_AFTER_S ago;
# - offline: the last attempt failed (a failure at or after the last answer);
# - unknown: never tried, or the last answer is too old to say anything about now (the agent
#   is not running, or its sync thread is stuck).
# A running agent hears from the back office at least every HEARTBEAT_S (it pings when nothing
# else called), so a healthy lane never looks stale; a gone back office shows as offline
# within a heartbeat and a timeout.
HEARTBEAT_S = 30.0
STALE_AFTER_S = 3 * HEARTBEAT_S
ONLINE, OFFLINE, UNKNOWN = "online", "offline", "unknown"

SCHEMA = """
CREATE TABLE IF NOT EXISTS sync (
    name TEXT PRIMARY KEY,
    value TEXT
);
"""


class SyncState(LocalFile):
    """The ``sync`` table: the backoff clock and what the last contact said."""

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

    def _sync_values(self) -> dict[str, str | None]:
        with self._lock:
            return dict(self._db.execute("SELECT name, value FROM sync").fetchall())


def backoff_seconds(failures: int) -> float:
    """Wait after ``failures`` failed replays in a row: doubling from 1 s, capped, jittered."""
    delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (max(failures, 1) - 1))
    return delay * (1 + random.uniform(0, BACKOFF_JITTER))  # noqa: S311 (jitter, not security)


def back_office_state(last_contact: str | None, last_error_at: str | None,
                      now: dt.datetime) -> str:
    """``online``, ``offline`` or ``unknown`` from the sync table's two times (see the rule
    above :data:`HEARTBEAT_S`)."""
    contact = from_iso(last_contact) if last_contact else None
    failure = from_iso(last_error_at) if last_error_at else None
    if failure is not None and (contact is None or failure >= contact):
        return OFFLINE
    if contact is not None and (now - contact).total_seconds() <= STALE_AFTER_S:
        return ONLINE
    return UNKNOWN
