"""``make bench BENCH=imports``: ``loyalty import baskets`` of 1,000,000 lines on PostgreSQL.

A fresh database; the file's members, stores and products are all unknown and created
(``--create-missing``), as on a first import.  Runs the command as an operator would (a
process of its own) and times it; then runs it again, which must load nothing.
Target: under 120 s for the first run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from tests.bench.stack import fresh_database, instance_dir
from tests.imports.generate import write_baskets_csv

LINES = int(os.environ.get("BENCH_IMPORT_LINES", "1000000"))
TARGET_SECONDS = 120


def main() -> bool:
    from loyalty.migrations import upgrade

    instance = instance_dir("imports")
    path = instance / "baskets.csv"
    started = time.monotonic()
    baskets = write_baskets_csv(path, LINES)
    print(f"generated {LINES:,} lines in {baskets:,} baskets "
          f"({time.monotonic() - started:.1f} s)", flush=True)
    url = fresh_database("loyalty_bench_imports")
    upgrade(url)
    env = {**os.environ, "LOYALTY_DATABASE_URL": url, "LOYALTY_SECRET_KEY": "bench-secret",
           "LOYALTY_INSTANCE_PATH": str(instance),
           "LOYALTY_COUPON_SIGNING_KEY_FILE": str(instance / "coupon.pem"),
           "LOYALTY_LOG_LEVEL": "WARNING"}
    loyalty = str(Path(sys.executable).parent / "loyalty")  # the console script, as installed
    command = [loyalty, "import", "baskets", str(path),
               "--create-missing", "--currency", "AED", "--timezone", "Asia/Dubai"]
    first = _timed(command, env)
    print(f"first import: {first:.1f} s ({LINES / first:,.0f} lines/s); "
          f"target < {TARGET_SECONDS} s", flush=True)
    second = _timed(command, env)
    print(f"second import (nothing to load): {second:.1f} s", flush=True)
    return first < TARGET_SECONDS


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    elapsed = time.monotonic() - started
    summary = re.findall(r"baskets: .*", done.stdout)
    print("  " + (summary[0] if summary else done.stdout + done.stderr[-2000:]), flush=True)
    if done.returncode != 0:
        raise RuntimeError(f"the import failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed
