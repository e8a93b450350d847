"""Replay against a real back office: exactly one accrual per sale, whatever goes wrong.

``use_batch`` None sends ``POST /checkouts/batch`` (falling back to one by one when the back
office lacks it); False commits one by one.  Both paths must give the same outcome.
"""

from __future__ import annotations

import logging
import random
import shutil
import threading
import time
from pathlib import Path

import pytest

from pos_agent.client import BackOffice
from pos_agent.outbox import Outbox
from tests.pos_agent.offline.conftest import START_POINTS, BackOfficeServer, Proxy, sale_body

MODES = [pytest.param(None, id="batch"), pytest.param(False, id="one-by-one")]
BATCH_PATH = "/api/v1/checkouts/batch"


def fill(box: Outbox, bo: BackOfficeServer, n: int, *, redeem: int = 0, prefix: str = "s",
         bad: set[int] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """``n`` sales over the members in turn; sales whose index is in ``bad`` are in USD (the
    store sells in AED: the back office refuses them with 422 currency_mismatch)."""
    keys = []
    for i in range(n):
        m = i % len(bo.cards)
        body = sale_body(bo.cards[m], f"{prefix}{i}", redeem=redeem,
                         currency="USD" if i in bad else "AED")
        keys.append(box.add(body, member_id=bo.member_ids[m], redeem_points=redeem,
                            coupon_codes=[]))
    return keys


def assert_once_each(bo: BackOfficeServer, refs: list[str]) -> None:
    """One basket per sale, one earn posting per basket, and the ledger verifies."""
    baskets = bo.baskets_by_ref()
    assert {r: baskets[r] for r in refs} == dict.fromkeys(refs, 1)
    assert sum(baskets.values()) == len(refs)
    earns = bo.earn_postings_per_basket()
    assert set(earns.values()) == {1}
    assert bo.ledger_problems() == []


@pytest.mark.parametrize("use_batch", MODES)
def test_replay_delivers_in_order_and_keeps_the_answers(tmp_path: Path, back_office, use_batch):  # type: ignore[no-untyped-def]
    with Outbox(tmp_path / "o.sqlite3") as box:
        keys = fill(box, back_office, 5, redeem=10)
        assert box.pending_redemptions(back_office.member_ids[0]) == 20
        report = box.replay(back_office.client(), use_batch=use_batch)
        assert (report.delivered, report.dead, report.remaining, report.ok) == (5, 0, 0, True)
        receipts = [box.result(k) for k in keys]
        assert all(r is not None for r in receipts)
        basket_ids = [r["basket_id"] for r in receipts]  # type: ignore[index]
        assert basket_ids == sorted(basket_ids)  # the back office saw them in order
        assert box.pending_redemptions(back_office.member_ids[0]) == 0
        status = box.status()
        assert status["depth"] == 0 and status["online"] is True and status["last_sync"]
    assert_once_each(back_office, [f"s{i}" for i in range(5)])


@pytest.mark.parametrize("use_batch", MODES)
def test_replaying_the_same_outbox_three_times_gives_one_accrual(tmp_path: Path, back_office,
                                                                 use_batch):  # type: ignore[no-untyped-def]
    original = tmp_path / "o.sqlite3"
    with Outbox(original) as box:
        keys = fill(box, back_office, 6, redeem=5)
    copies = []
    for n in range(3):  # three tills restored from the same backup, say
        copies.append(tmp_path / f"copy{n}.sqlite3")
        shutil.copy(original, copies[-1])
    answers = []
    for path in copies:
        with Outbox(path) as box:
            report = box.replay(back_office.client(), use_batch=use_batch)
            assert (report.delivered, report.remaining) == (6, 0)
            answers.append([box.result(k) for k in keys])
    assert answers[0] == answers[1] == answers[2]  # the back office replayed its answers
    assert_once_each(back_office, [f"s{i}" for i in range(6)])
    earned = sum(a["points_earned"] for a in answers[0][0::3])  # the first member's sales
    assert back_office.balance(back_office.member_ids[0]) == START_POINTS + earned - 2 * 5


@pytest.mark.parametrize("use_batch", MODES)
def test_a_back_office_vanishing_mid_request_then_returning_gives_one_accrual(
        tmp_path: Path, back_office: BackOfficeServer, proxy: Proxy, use_batch) -> None:  # type: ignore[no-untyped-def]
    # The lost answer is a dropped connection, not a timeout: a generous timeout keeps a slow,
    # loaded machine from failing the second replay for the wrong reason.
    client = BackOffice(proxy.url, back_office.token, timeout=5)
    with Outbox(tmp_path / "o.sqlite3") as box:
        keys = fill(box, back_office, 4)
        proxy.drop_answers(1)  # the first request reaches the back office; its answer is lost
        report = box.replay(client, use_batch=use_batch)
        assert report.offline and proxy.dropped == 1
        assert "connection dropped" in (report.stopped or "")
        assert box.state(keys[0]) == "pending" and box.depth() == 4
        assert back_office.baskets_by_ref()["s0"] == 1  # it was recorded all the same
        again = box.replay(client, force=True, use_batch=use_batch)
        assert again.ok and (again.delivered, again.remaining) == (4, 0)
        with back_office.session() as s:
            from loyalty.baskets.models import Basket

            recorded = s.query(Basket.id).filter(Basket.external_ref == "s0").scalar()
        assert box.result(keys[0])["basket_id"] == recorded  # type: ignore[index]
    assert_once_each(back_office, [f"s{i}" for i in range(4)])


@pytest.mark.parametrize("use_batch", MODES)
def test_a_refused_sale_becomes_a_dead_letter_and_replay_goes_on(tmp_path: Path, back_office,
                                                                 use_batch):  # type: ignore[no-untyped-def]
    with Outbox(tmp_path / "o.sqlite3") as box:
        keys = fill(box, back_office, 4, redeem=7, bad={1})
        report = box.replay(back_office.client(), use_batch=use_batch)
        assert (report.delivered, report.dead, report.remaining) == (3, 1, 0)
        assert report.ok
        [letter] = box.dead_letters()
        assert (letter.key, letter.status, letter.code) == (keys[1], 422, "currency_mismatch")
        assert letter.problem["code"] == "currency_mismatch" and letter.reason
        assert letter.body["external_ref"] == "s1"
        assert back_office.cards[1] not in repr(letter)
        assert box.result(keys[1]) is None and box.result(keys[2]) is not None
        assert box.status()["dead_letters"] == 1 and box.depth() == 0
        # kept, and counted against the member's offline redemptions (they had the points)
        assert box.pending_redemptions(back_office.member_ids[1]) == 7
        # the till is fixed, the letter requeued: refused again, still kept
        assert box.requeue(keys[1]) and box.depth() == 1
        box.replay(back_office.client(), use_batch=use_batch)
        assert [d.key for d in box.dead_letters()] == [keys[1]]
    assert_once_each(back_office, ["s0", "s2", "s3"])


def test_a_slow_back_office_stops_replay_within_the_timeout(tmp_path: Path,
                                                            silent_server: str) -> None:
    with Outbox(tmp_path / "o.sqlite3") as box:
        box.add(sale_body("9871000000000007", "a"), member_id=None, redeem_points=0,
                coupon_codes=[])
        started = time.monotonic()
        report = box.replay(BackOffice(silent_server, "token", timeout=0.3))
        assert time.monotonic() - started < 0.3 + 0.3
        assert report.offline and "timed out" in (report.stopped or "")
        assert box.depth() == 1 and box.status()["online"] is False


def test_a_back_office_without_the_batch_endpoint_gets_sales_one_by_one(
        tmp_path: Path, back_office: BackOfficeServer, proxy: Proxy) -> None:
    back_office.hidden[BATCH_PATH] = 404
    client = BackOffice(proxy.url, back_office.token)
    with Outbox(tmp_path / "o.sqlite3") as box:
        fill(box, back_office, 3)
        report = box.replay(client)
        assert (report.delivered, report.remaining) == (3, 0)
        fill(box, back_office, 2, prefix="t")
        box.replay(client)  # remembers: does not ask for the batch again
    assert proxy.sent.count(b"POST /api/v1/checkouts/batch") == 1
    assert proxy.sent.count(b"POST /api/v1/checkouts ") == 5
    assert_once_each(back_office, ["s0", "s1", "s2", "t0", "t1"])


def test_a_refused_batch_envelope_does_not_stall_the_queue(
        tmp_path: Path, back_office: BackOfficeServer, proxy: Proxy) -> None:
    back_office.hidden[BATCH_PATH] = 422  # say the back office cannot read one item's key
    client = BackOffice(proxy.url, back_office.token)
    with Outbox(tmp_path / "o.sqlite3") as box:
        fill(box, back_office, 3, bad={1})
        report = box.replay(client)
        assert (report.delivered, report.dead, report.remaining) == (2, 1, 0)
        fill(box, back_office, 1, prefix="t")
        box.replay(client)  # a 422 is about that batch: the next chunk tries the batch again
    assert proxy.sent.count(b"POST /api/v1/checkouts/batch") == 2
    assert_once_each(back_office, ["s0", "s2", "t0"])


def test_the_batch_endpoint_is_used_when_offered(tmp_path: Path, back_office: BackOfficeServer,
                                                 proxy: Proxy) -> None:
    with Outbox(tmp_path / "o.sqlite3", batch_size=4) as box:
        keys = fill(box, back_office, 6)
        report = box.replay(BackOffice(proxy.url, back_office.token))
        assert (report.delivered, report.remaining) == (6, 0)
        assert all(box.result(k)["basket_id"] for k in keys)  # type: ignore[index]
    assert proxy.sent.count(b"POST /api/v1/checkouts/batch") == 2  # 4 + 2
    assert b"POST /api/v1/checkouts " not in proxy.sent
    assert_once_each(back_office, [f"s{i}" for i in range(6)])


def test_a_back_office_process_killed_during_replay_then_restarted_gives_one_accrual(
        tmp_path: Path, back_office: BackOfficeServer, server_process) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL of the back office (gunicorn master and worker) just after the k-th request
    reached it: before, during or after its transaction (its answer, if any, is held until the
    kill is done).  After a restart, the replay finishes
    (a key left in flight answers 409 request_in_flight, which is retried, not dead-lettered)
    and every sale is recorded once."""
    rng = random.Random()
    kth, delay = rng.randint(1, 4), rng.uniform(0.0, 0.03)
    seen = []
    armed = threading.Event()
    armed.set()

    def kill_on_kth_request(data: bytes) -> None:
        if armed.is_set() and data.startswith(b"POST /api/v1/checkouts"):
            seen.append(data)
            if len(seen) == kth:
                time.sleep(delay)
                server_process.kill()

    host, port = "127.0.0.1", server_process.port
    proxy = Proxy((host, port), on_request=kill_on_kth_request)
    try:
        server_process.start()
        client = BackOffice(proxy.url, back_office.token, timeout=2)
        with Outbox(tmp_path / "o.sqlite3") as box:
            fill(box, back_office, 5, redeem=3)
            first = box.replay(client, use_batch=False)
            assert first.offline, (kth, delay)
            # Killed at the k-th request; or, if a slow machine timed the replay out before it
            # came, now: either way a kill at some step of the replay, and the only one.
            armed.clear()
            server_process.kill()
            server_process.start()
            deadline = time.monotonic() + 10
            while box.depth() and time.monotonic() < deadline:
                box.replay(client, force=True, use_batch=False)
                time.sleep(0.1)
            assert box.depth() == 0 and box.dead_letters() == [], (kth, delay)
    finally:
        proxy.close()
    assert_once_each(back_office, [f"s{i}" for i in range(5)])


def test_replay_logs_counts_and_keys_never_cards(tmp_path: Path, back_office,  # type: ignore[no-untyped-def]
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="pos_agent")
    with Outbox(tmp_path / "o.sqlite3") as box:
        keys = fill(box, back_office, 3, bad={2})
        box.replay(back_office.client())
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("pos_agent"))
    assert "2 delivered, 1 dead letters, 0 remaining" in ours
    assert keys[2] in ours and "currency_mismatch" in ours
    assert not any(card in ours for card in back_office.cards)
