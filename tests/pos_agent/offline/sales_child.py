"""A till in a child process, for the kill -9 test: adds sales to the outbox and replays.

    python -m tests.pos_agent.offline.sales_child OUTBOX URL TOKEN CARDS START COUNT

Prints ``added <sale id> <key>`` once ``Outbox.add`` has returned for a sale, and replays after
every few sales, so a kill -9 at a random moment lands in an add, a replay, or between.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pos_agent.client import BackOffice
from pos_agent.outbox import Outbox
from tests.pos_agent.offline.sales import sale_body


def main(argv: list[str]) -> int:
    outbox_path, url, token, cards_csv, start, count = argv
    cards = cards_csv.split(",")
    client = BackOffice(url, token, timeout=5)
    box = Outbox(Path(outbox_path))
    print("ready", flush=True)
    for n in range(int(start), int(start) + int(count)):
        card = cards[n % len(cards)]
        key = box.add(sale_body(card, f"k{n}", redeem=n % 3), member_id=None,
                      redeem_points=n % 3, coupon_codes=[])
        print(f"added k{n} {key}", flush=True)
        if n % 3 == 2:
            box.replay(client, force=True)
    box.replay(client, force=True)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
