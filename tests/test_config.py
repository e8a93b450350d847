"""Settings: the embedded secret key is made once, whole and private, however many processes
start together (``make demo`` starts a web server and a worker from one fresh instance/)."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from loyalty.config import Settings, SettingsError

PROCESSES = 6
ROUNDS = 10


def _start(instance: str, barrier, keys) -> None:  # type: ignore[no-untyped-def]
    os.umask(0)  # a careless create would make the file world-readable for a moment
    barrier.wait()
    keys.put(Settings.from_env({"LOYALTY_INSTANCE_PATH": instance}).secret_key)


def _watch(instance: str, barrier, done, seen) -> None:  # type: ignore[no-untyped-def]
    """What another process could see of the key file while the others start."""
    key_file, views = Path(instance) / "secret_key", set()
    barrier.wait()
    while not done.is_set():
        try:
            with key_file.open("rb") as fh:
                views.add((stat.S_IMODE(os.fstat(fh.fileno()).st_mode), fh.read()))
        except FileNotFoundError:
            pass
    seen.put(views)


def _start_together(instance: Path) -> tuple[list[str], set[tuple[int, bytes]]]:
    ctx = multiprocessing.get_context("fork")  # fast: the round is about the moment of start
    barrier, keys, seen, done = ctx.Barrier(PROCESSES + 1), ctx.Queue(), ctx.Queue(), ctx.Event()
    watcher = ctx.Process(target=_watch, args=(str(instance), barrier, done, seen))
    starters = [ctx.Process(target=_start, args=(str(instance), barrier, keys))
                for _ in range(PROCESSES)]
    for process in [watcher, *starters]:
        process.start()
    found = [keys.get(timeout=60) for _ in starters]
    done.set()
    views = seen.get(timeout=60)
    for process in [watcher, *starters]:
        process.join(10)
        assert process.exitcode == 0
    return found, views


def test_processes_starting_together_agree_on_one_key_never_seen_unfinished(tmp_path: Path):
    for round_ in range(ROUNDS):
        instance = tmp_path / f"instance-{round_}"

        keys, views = _start_together(instance)

        key_file = instance / "secret_key"
        key = key_file.read_text().strip()
        assert set(keys) == {key} and len(key) >= 32
        # Whatever a reader caught, at any moment: the final key, private.
        assert views <= {(0o600, key_file.read_bytes())}
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert [p.name for p in instance.iterdir()] == ["secret_key"]  # no temporary left


def test_a_later_start_reads_the_key_the_first_made(tmp_path: Path):
    first = Settings(instance_path=tmp_path).with_secrets().secret_key
    assert Settings(instance_path=tmp_path).with_secrets().secret_key == first


def test_an_empty_key_file_is_refused_not_used(tmp_path: Path):
    (tmp_path / "secret_key").write_text("\n")
    with pytest.raises(SettingsError, match="empty"):
        Settings(instance_path=tmp_path).with_secrets()
