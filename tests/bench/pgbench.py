"""pgbench's built-in tpcb-like workload on the same server, at the same client count."""

from __future__ import annotations

import re
import shutil
import subprocess

from sqlalchemy import create_engine, text


def pgbench_tps(admin_url: str, host: str, port: int, user: str, clients: int,
                seconds: int, scale: int = 10) -> float:
    exe = shutil.which("pgbench")
    if exe is None:
        raise RuntimeError("pgbench is not installed (Debian package postgresql-client)")
    name = "loyalty_pgbench"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    base = [exe, "-h", host, "-p", str(port), "-U", user]
    subprocess.run([*base, "-i", "-q", "-s", str(scale), name], check=True,
                   capture_output=True, timeout=600)
    out = subprocess.run(
        [*base, "-b", "tpcb-like", "-c", str(clients), "-j", str(min(clients, 2)),
         "-T", str(seconds), "-n", name],
        check=True, capture_output=True, text=True, timeout=seconds + 120,
    ).stdout
    match = re.search(r"tps = ([0-9.]+)", out)
    if match is None:
        raise RuntimeError(f"could not read pgbench's output:\n{out}")
    return float(match.group(1))
