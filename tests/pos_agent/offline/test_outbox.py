"""The outbox on its own file: durability, order, the local rules, backoff and status."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from pathlib import Path

import pytest

from pos_agent.client import BackOffice
from pos_agent.outbox import (
    BACKOFF_CAP_S,
    BACKOFF_JITTER,
    STALE_AFTER_S,
    Outbox,
    backoff_seconds,
)
from tests.pos_agent.offline.sales import sale_body

CARD = "9871000000000007"
TEST_PAN = "4111111111111111"
COUPON = "7KQ2M9XD4RW"  # not necessarily valid: any text that is not a canonical code is kept


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    with Outbox(tmp_path / "outbox.sqlite3") as box:
        yield box


def add(box: Outbox, ref: str, *, member: int | None = 1, redeem: int = 0,
        coupons: list[str] | None = None) -> str:
    return box.add(sale_body(CARD, ref, redeem=redeem), member_id=member, redeem_points=redeem,
                   coupon_codes=coupons or [])


def test_the_file_is_wal_with_full_sync(outbox: Outbox) -> None:
    assert outbox._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_add_returns_a_uuid4_key_and_the_row_is_on_disk(tmp_path: Path, outbox: Outbox) -> None:
    key = add(outbox, "a")
    assert uuid.UUID(key).version == 4
    # another connection (another process would do the same) sees it at once
    with sqlite3.connect(tmp_path / "outbox.sqlite3") as other:
        rows = other.execute("SELECT key, state FROM sale").fetchall()
    assert rows == [(key, "pending")]
    assert outbox.depth() == 1 and outbox.state(key) == "pending" and outbox.result(key) is None


def test_sales_keep_their_order(tmp_path: Path, outbox: Outbox) -> None:
    keys = [add(outbox, f"s{n}") for n in range(5)]
    with sqlite3.connect(tmp_path / "outbox.sqlite3") as other:
        assert [k for (k,) in other.execute("SELECT key FROM sale ORDER BY seq")] == keys


def test_a_payment_card_is_never_queued(tmp_path: Path, outbox: Outbox) -> None:
    with pytest.raises(ValueError, match="payment card") as err:
        outbox.add(sale_body(TEST_PAN, "p"), member_id=None, redeem_points=0, coupon_codes=[])
    assert TEST_PAN not in str(err.value) and outbox.depth() == 0
    outbox.close()
    for path in tmp_path.iterdir():
        assert TEST_PAN.encode() not in path.read_bytes()


@pytest.mark.parametrize(("body", "redeem", "message"), [
    ({"lines": [], "at": dt.datetime.now()}, 0, "not JSON"),
    ({"amount": float("nan")}, 0, "not JSON"),
    ({"lines": []}, -1, "negative"),
])
def test_bad_sales_are_refused_and_nothing_is_queued(outbox: Outbox, body: dict, redeem: int,
                                                     message: str) -> None:
    with pytest.raises(ValueError, match=message):
        outbox.add(body, member_id=1, redeem_points=redeem, coupon_codes=[])
    assert outbox.depth() == 0


def test_pending_redemptions_sum_what_is_not_delivered(outbox: Outbox) -> None:
    add(outbox, "a", member=1, redeem=100)
    add(outbox, "b", member=1, redeem=50)
    add(outbox, "c", member=2, redeem=70)
    add(outbox, "d", member=None, redeem=0)
    assert outbox.pending_redemptions(1) == 150
    assert outbox.pending_redemptions(2) == 70
    assert outbox.pending_redemptions(3) == 0


def test_a_coupon_is_single_use_locally(outbox: Outbox) -> None:
    assert not outbox.coupon_used_locally("AAAA-BBBB")
    add(outbox, "a", coupons=["AAAA-BBBB"])
    assert outbox.coupon_used_locally("AAAA-BBBB")
    with pytest.raises(ValueError, match="already used"):
        add(outbox, "b", coupons=["AAAA-BBBB", "CCCC"])
    assert outbox.depth() == 1 and not outbox.coupon_used_locally("CCCC")


def test_coupon_codes_are_compared_in_canonical_form(outbox: Outbox) -> None:
    from loyalty.coupons.codes import display_code, new_code

    code = new_code()
    add(outbox, "a", coupons=[display_code(code).lower()])
    assert outbox.coupon_used_locally(code)


def test_the_outbox_survives_closing_and_reopening(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite3") as box:
        key = add(box, "a", redeem=30, coupons=["X1"])
    with Outbox(tmp_path / "o.sqlite3") as box:
        assert box.state(key) == "pending" and box.pending_redemptions(1) == 30
        assert box.coupon_used_locally("X1")


def test_an_unreachable_back_office_stops_replay_and_backs_off(outbox: Outbox,
                                                              closed_port: str) -> None:
    add(outbox, "a")
    client = BackOffice(closed_port, "token")
    now = dt.datetime.now(dt.UTC)
    report = outbox.replay(client, now=now)
    assert report.offline and report.delivered == 0 and report.remaining == 1
    status = outbox.status()
    assert status["online"] is False and "connection refused" in status["last_error"]
    assert status["depth"] == 1 and status["last_sync"] is None
    next_at = outbox.next_attempt_at()
    assert next_at is not None and 1.0 <= (next_at - now).total_seconds() <= 1.0 + BACKOFF_JITTER
    assert not outbox.due(now) and outbox.due(next_at)
    skipped = outbox.replay(client, now=now)  # backing off: nothing is tried
    assert skipped.skipped and outbox.status()["last_error_at"] == status["last_error_at"]
    second = outbox.replay(client, now=next_at)  # due: tried, failed again, waits longer
    assert second.offline
    assert outbox.next_attempt_at() - next_at >= dt.timedelta(seconds=2)  # type: ignore[operator]


def test_backoff_doubles_up_to_the_cap() -> None:
    for failures, base in [(1, 1), (2, 2), (3, 4), (6, 32), (7, 60), (30, 60)]:
        delay = backoff_seconds(failures)
        assert min(base, BACKOFF_CAP_S) <= delay <= min(base, BACKOFF_CAP_S) * 1.1


def test_mark_online_ends_the_backoff(outbox: Outbox, closed_port: str) -> None:
    add(outbox, "a")
    outbox.replay(BackOffice(closed_port, "token"))
    assert not outbox.due()
    outbox.mark_online()
    assert outbox.due() and outbox.status()["online"] is True


def test_status_of_an_empty_outbox(outbox: Outbox) -> None:
    assert outbox.status() == {
        "depth": 0, "dead_letters": 0, "oldest_pending_at": None, "online": None,
        "back_office": "unknown", "last_contact": None,
        "last_sync": None, "last_error": None, "last_error_at": None, "next_attempt_at": None}


def test_add_many_is_all_or_nothing(outbox: Outbox) -> None:
    keys = outbox.add_many([(sale_body(CARD, f"m{n}"), 1, n, []) for n in range(3)])
    assert len(set(keys)) == 3 and outbox.depth() == 3 and outbox.pending_redemptions(1) == 3
    with pytest.raises(ValueError, match="payment card"):
        outbox.add_many([(sale_body(CARD, "ok"), 1, 0, []), (sale_body(TEST_PAN, "no"), 1, 0, [])])
    with pytest.raises(ValueError, match="already used"):
        outbox.add_many([(sale_body(CARD, "c1"), 1, 0, ["Z9"]),
                         (sale_body(CARD, "c2"), 1, 0, ["Z9"])])
    assert outbox.depth() == 3 and not outbox.coupon_used_locally("Z9")


def test_the_files_are_private_to_the_agent(tmp_path: Path) -> None:
    from pos_agent.cache import Cache

    with Outbox(tmp_path / "o.sqlite3") as box, Cache(tmp_path / "c.sqlite3"):
        add(box, "a")
        for path in tmp_path.iterdir():
            assert path.stat().st_mode & 0o077 == 0, path.name


def test_replaying_an_empty_outbox_claims_nothing(outbox: Outbox, closed_port: str) -> None:
    report = outbox.replay(BackOffice(closed_port, "token"))
    assert report.ok and report.delivered == 0
    assert outbox.status()["online"] is None and outbox.status()["last_sync"] is None


NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("contact_ago", "failure_ago", "state"), [
    (None, None, "unknown"),  # never tried
    (5, None, "online"),
    (STALE_AFTER_S, None, "online"),  # the oldest answer that still counts
    (STALE_AFTER_S + 1, None, "unknown"),  # gone quiet: the agent is not running, or stuck
    (600, None, "unknown"),
    (5, 60, "online"),  # it answered after the last failure
    (60, 5, "offline"),  # the last attempt failed
    (None, 5, "offline"),
    (None, 3600, "offline"),  # failed, and nothing since, however long ago
])
def test_the_back_office_state_follows_the_last_contact_and_failure(
        outbox: Outbox, contact_ago: float | None, failure_ago: float | None,
        state: str) -> None:
    if contact_ago is not None:
        outbox.mark_online(NOW - dt.timedelta(seconds=contact_ago))
    if failure_ago is not None:
        outbox.mark_offline("connection refused", NOW - dt.timedelta(seconds=failure_ago))
    assert outbox.status(NOW)["back_office"] == state
