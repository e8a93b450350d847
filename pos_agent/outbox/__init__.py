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

Three modules, one file: :mod:`pos_agent.outbox.store` (the sales and the coupons they used),
:mod:`pos_agent.outbox.sync` (the backoff clock and the last contact) and
:mod:`pos_agent.outbox.replay` (delivery in lanes); :class:`Outbox` is all three.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

from pos_agent import lanes as replay_lanes
from pos_agent.client import BATCH_LIMIT
from pos_agent.localdb import utcnow
from pos_agent.outbox import store, sync
from pos_agent.outbox.replay import (
    BATCH_RECHECK_S,
    HALT_STATUSES,
    KEEP_DELIVERED,
    Replay,
    ReplayReport,
)
from pos_agent.outbox.store import DEAD, DELIVERED, PENDING, DeadLetter, _coupon_key
from pos_agent.outbox.sync import (
    BACKOFF_BASE_S,
    BACKOFF_CAP_S,
    BACKOFF_JITTER,
    HEARTBEAT_S,
    STALE_AFTER_S,
    back_office_state,
    backoff_seconds,
)

__all__ = [
    "BACKOFF_BASE_S", "BACKOFF_CAP_S", "BACKOFF_JITTER", "BATCH_RECHECK_S", "DEAD", "DELIVERED",
    "HALT_STATUSES", "HEARTBEAT_S", "KEEP_DELIVERED", "PENDING", "STALE_AFTER_S", "DeadLetter",
    "Outbox", "ReplayReport", "_coupon_key", "back_office_state", "backoff_seconds",
]


class Outbox(Replay):
    """The till's durable queue of sales.  Thread-safe; several processes may open one file.

    The store (:mod:`.store`), the sync state (:mod:`.sync`) and the replay (:mod:`.replay`)
    share one SQLite file, so a sale and the mark of its delivery commit together.
    """

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
        super().__init__(path, store.SCHEMA + sync.SCHEMA, synchronous="FULL")
        self._replaying = threading.Lock()
        self._batch_off_until = 0.0  # monotonic time until which we commit one by one

    def status(self, now: dt.datetime | None = None) -> dict[str, Any]:
        """For ``pos-agent status``: queue depth, dead letters, last sync, last error, online.

        ``online`` is what the last attempt said (None until the back office was tried once);
        ``back_office`` is the state by the rule in :mod:`pos_agent.outbox.sync` (``online``
        only while the last answer is fresh).  Readable from another process while the agent
        runs (WAL readers do not block the writer).
        """
        sync_values = self._sync_values()
        online = sync_values.get("online")
        return {
            **self._queue_status(),
            "online": None if online is None else online == "1",
            "back_office": sync.back_office_state(sync_values.get("last_contact"),
                                                  sync_values.get("last_error_at"),
                                                  now or utcnow()),
            "last_contact": sync_values.get("last_contact"),  # the back office's last answer
            "last_sync": sync_values.get("last_sync"),  # the last replay that delivered all
            "last_error": sync_values.get("last_error"),
            "last_error_at": sync_values.get("last_error_at"),
            "next_attempt_at": sync_values.get("next_attempt_at"),
        }
