"""A basket import killed half-way leaves nothing behind; run again, it completes, once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.factories import invoke_cli
from tests.imports.conftest import counts
from tests.imports.generate import write_baskets_csv

LINES = 150_000  # the command prints its first progress line after 100,000


def _environment(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env.update({
        "LOYALTY_DATABASE_URL": database_url,
        "LOYALTY_SECRET_KEY": "import-kill-secret",
        "LOYALTY_INSTANCE_PATH": str(tmp_path / "state"),
        "LOYALTY_COUPON_SIGNING_KEY_FILE": str(tmp_path / "state" / "coupon.pem"),
        "LOYALTY_LOG_LEVEL": "WARNING",
    })
    return env


def test_a_killed_import_leaves_nothing_and_a_rerun_completes_it(app, db, database_url,
                                                                 tmp_path):
    path = tmp_path / "history.csv"
    baskets = write_baskets_csv(path, LINES, members=50, stores=2, skus=20)
    args = ["import", "baskets", str(path), "--create-missing", "--currency", "AED"]
    loyalty = str(Path(sys.executable).parent / "loyalty")
    proc = subprocess.Popen([loyalty, *args], env=_environment(database_url, tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # blocks until the import is well under way
        assert first.startswith("read 100000 lines"), first + proc.stderr.read()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    assert counts(db) == {"baskets": 0, "lines": 0, "members": 0, "stores": 0,
                          "products": 0, "postings": 0}

    rerun = invoke_cli(app, args)
    assert rerun.exit_code == 0, rerun.output
    assert (f"baskets: {baskets} loaded, 0 already imported, 0 skipped; lines: {LINES} "
            "loaded") in rerun.output
    after = counts(db)
    assert (after["baskets"], after["lines"], after["stores"]) == (baskets, LINES, 2)

    again = invoke_cli(app, args)
    assert f"baskets: 0 loaded, {baskets} already imported" in again.output, again.output
    assert counts(db) == after
