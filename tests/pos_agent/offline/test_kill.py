"""kill -9 of the process holding the outbox, at random moments, loses no committed sale.

A child process (tests/pos_agent/offline/sales_child.py) adds sales and replays them against
the real back office; it is killed with SIGKILL after a random delay, several rounds, each
round on the same outbox file.  Then the outbox is replayed to the end and the back office's
database must hold every sale the child was told was added, and every sale in the outbox,
exactly once, with a ledger that verifies.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from pos_agent.outbox import Outbox
from tests.pos_agent.offline.conftest import BackOfficeServer

ROOT = Path(__file__).resolve().parents[3]
ROUNDS = 6


def run_round(outbox: Path, bo: BackOfficeServer, start: int, count: int,
              kill_after: float | None, *, after_ready: bool = True
              ) -> tuple[list[tuple[str, str]], bool]:
    """Start the child; SIGKILL it ``kill_after`` s after it opened the outbox (or after it
    started, if not ``after_ready``).  Returns the (sale, key) pairs it reported added, and
    whether the SIGKILL is what ended it (not a child that had already finished)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.pos_agent.offline.sales_child", str(outbox), bo.url,
         bo.token, ",".join(bo.cards), str(start), str(count)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in child.stdout or []:
            lines.append(line)
            ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if kill_after is None:
        child.wait(30)
    else:
        if after_ready:
            assert ready.wait(10), "the child did not start"
        time.sleep(kill_after)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    reader.join(5)
    pairs = [tuple(line.split()[1:3]) for line in lines if line.startswith("added ")]
    return pairs, child.returncode == -signal.SIGKILL  # type: ignore[return-value]


def test_kill_9_at_random_moments_loses_no_committed_sale(tmp_path: Path,
                                                           back_office: BackOfficeServer) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    outbox = tmp_path / "outbox.sqlite3"
    acknowledged: dict[str, str] = {}
    killed = 0
    for r in range(ROUNDS):
        # round 0 dies while starting up (opening and creating the file); the others at a
        # random moment among the adds (each an fsync) and the replays every third sale
        pairs, was_killed = run_round(outbox, back_office, r * 100, 60,
                                      0.05 if r == 0 else rng.uniform(0.0, 0.4),
                                      after_ready=r > 0)
        acknowledged.update(pairs)
        killed += was_killed
    pairs, _ = run_round(outbox, back_office, ROUNDS * 100, 4, None)  # a clean end
    acknowledged.update(pairs)
    with Outbox(outbox) as box:
        report = box.replay(back_office.client(), force=True)
        assert report.ok and box.depth() == 0 and box.dead_letters() == [], seed
    with sqlite3.connect(outbox) as db:
        queued = dict(db.execute("SELECT json_extract(body, '$.external_ref'), key FROM sale"))
    # every sale add() returned for is in the outbox, under the key the child was given
    assert {s: queued.get(s) for s in acknowledged} == acknowledged, seed
    # every sale in the outbox (acknowledged or caught between commit and print) is recorded
    # exactly once, and nothing else is
    assert back_office.baskets_by_ref() == dict.fromkeys(queued, 1), seed
    # and each key's stored answer names the basket of its own sale
    per_key = back_office.basket_per_key(list(queued.values()))
    assert {key: ref for key, (_basket, ref) in per_key.items()} == {
        key: ref for ref, key in queued.items()}, seed
    assert set(back_office.earn_postings_per_basket().values()) == {1}, seed
    assert back_office.ledger_problems() == [], seed
    assert killed == ROUNDS and len(acknowledged) > ROUNDS, seed
