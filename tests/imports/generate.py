"""Synthetic purchase history for the kill test and the import benchmark."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

HEADER = "member_ref,basket_id,occurred_at,store,sku,quantity,amount_minor\n"


def write_baskets_csv(path: Path, lines: int, *, lines_per_basket: int = 10,
                      members: int = 20_000, stores: int = 10, skus: int = 2_000,
                      seed: int = 7) -> int:
    """``lines`` lines in baskets of ``lines_per_basket`` (local times, no zone); returns the
    number of baskets."""
    rng = random.Random(seed)
    start = dt.datetime(2024, 1, 1, 8, 0)
    baskets = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        written = 0
        while written < lines:
            baskets += 1
            member = f"M{rng.randrange(members)}" if rng.random() < 0.9 else ""
            when = (start + dt.timedelta(minutes=rng.randrange(525_600))).isoformat()
            store = f"S{rng.randrange(stores)}"
            head = f"{member},B{baskets},{when},{store},"
            rows = []
            for _ in range(min(lines_per_basket, lines - written)):
                quantity = rng.randrange(1, 4)
                rows.append(f"{head}P{rng.randrange(skus)},{quantity},"
                            f"{quantity * rng.randrange(100, 5000)}\n")
            out.write("".join(rows))
            written += len(rows)
    return baskets
