"""Replay in lanes against a real back office: batches at once, each member's sales in order.

The back office is the real app behind a small WSGI gate that watches the batch requests: how
many are in flight at once, and (to make one lane fail) a 503 for any batch carrying a card.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pos_agent.client import BackOffice
from pos_agent.outbox import Outbox
from tests.pos_agent.backoffice_server import serve_wsgi
from tests.pos_agent.offline.conftest import START_POINTS, BackOfficeServer
from tests.pos_agent.offline.test_replay import BATCH_PATH, assert_once_each, fill

REDEEM = 3


class Gate:
    """WSGI middleware: counts batch requests in flight; 503 for a batch carrying a card in
    ``refuse``.  With ``pair_up``, the first batch waits (up to 5 s) until a second one is in
    flight too, so lanes that really run at once are seen to, however loaded the machine."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.refuse: set[str] = set()
        self.pair_up = False
        self.most_at_once = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._paired = threading.Event()

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        if environ.get("PATH_INFO") != BATCH_PATH:
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        if any(card.encode() in body for card in self.refuse):
            problem = json.dumps({"code": "unavailable", "status": 503}).encode()
            start_response("503 Service Unavailable", [
                ("Content-Type", "application/problem+json"),
                ("Content-Length", str(len(problem)))])
            return [problem]
        with self._lock:
            self._in_flight += 1
            self.most_at_once = max(self.most_at_once, self._in_flight)
            if self._in_flight >= 2:
                self._paired.set()
        try:
            if self.pair_up:
                self._paired.wait(5)
            return list(self.app(environ, start_response))
        finally:
            with self._lock:
                self._in_flight -= 1


@pytest.fixture
def gate(back_office: BackOfficeServer) -> Iterator[tuple[Gate, str]]:
    g = Gate(back_office.app)
    with serve_wsgi(g, "gated-back-office") as url:
        yield g, url


def sales_by_member(bo: BackOfficeServer, keys: list[str]) -> dict[int, list[str]]:
    """``fill`` gives the members their sales in turn: each member's keys in the till's order."""
    n = len(bo.member_ids)
    return {m: keys[m::n] for m in range(n)}


def assert_each_member_in_order(box: Outbox, bo: BackOfficeServer, keys: list[str]) -> None:
    for member_keys in sales_by_member(bo, keys).values():
        baskets = [box.result(k)["basket_id"] for k in member_keys]  # type: ignore[index]
        assert baskets == sorted(baskets)  # the back office saw each member's sales in order


def test_lanes_send_batches_at_once_and_keep_each_members_order(
        tmp_path: Path, back_office: BackOfficeServer, gate: tuple[Gate, str]) -> None:
    g, url = gate
    g.pair_up = True
    with Outbox(tmp_path / "o.sqlite3", batch_size=4, lanes=2) as box:
        keys = fill(box, back_office, 24, redeem=REDEEM)
        report = box.replay(back_office.client(timeout=10, url=url))
        assert (report.delivered, report.dead, report.remaining, report.ok) == (24, 0, 0, True)
        assert g.most_at_once == 2
        assert_each_member_in_order(box, back_office, keys)
        for m, member_keys in sales_by_member(back_office, keys).items():
            earned = sum(box.result(k)["points_earned"] for k in member_keys)  # type: ignore[index]
            assert back_office.balance(back_office.member_ids[m]) == (
                START_POINTS + earned - REDEEM * len(member_keys))
    assert_once_each(back_office, [f"s{i}" for i in range(24)])


def test_one_lane_failing_lets_the_others_finish_and_keeps_its_sales_in_order(
        tmp_path: Path, back_office: BackOfficeServer, gate: tuple[Gate, str]) -> None:
    g, url = gate
    g.refuse.add(back_office.cards[0])  # every batch holding member 0's card: 503
    client = back_office.client(timeout=10, url=url)
    with Outbox(tmp_path / "o.sqlite3", batch_size=4, lanes=2) as box:
        keys = fill(box, back_office, 24, redeem=REDEEM)
        report = box.replay(client)
        assert report.offline and "503" in (report.stopped or "")
        assert 0 < report.delivered < 24 and report.dead == 0
        by_member = sales_by_member(back_office, keys)
        assert all(box.state(k) == "pending" for k in by_member[0])
        for member_keys in by_member.values():
            states = [box.state(k) for k in member_keys]
            # what was delivered of a member is the start of its sales, never a gap
            assert states == sorted(states, key=lambda s: s != "delivered")
        g.refuse.clear()  # the back office is well again
        again = box.replay(client, force=True)
        assert again.ok and again.remaining == 0
        assert_each_member_in_order(box, back_office, keys)
    assert_once_each(back_office, [f"s{i}" for i in range(24)])


def test_one_lane_is_one_sale_after_another(tmp_path: Path, back_office: BackOfficeServer,
                                            gate: tuple[Gate, str]) -> None:
    g, url = gate
    with Outbox(tmp_path / "o.sqlite3", batch_size=4, lanes=1) as box:
        keys = fill(box, back_office, 12)
        assert box.replay(back_office.client(timeout=10, url=url)).ok
        baskets = [box.result(k)["basket_id"] for k in keys]  # type: ignore[index]
    assert baskets == sorted(baskets) and g.most_at_once == 1
    assert_once_each(back_office, [f"s{i}" for i in range(12)])


@pytest.mark.parametrize("lanes", [0, 9])
def test_lanes_out_of_range_are_refused(tmp_path: Path, lanes: int) -> None:
    with pytest.raises(ValueError, match="lanes must be 1..8"):
        Outbox(tmp_path / "o.sqlite3", lanes=lanes)


class Faulty(BackOffice):
    """The real client, but a bug (not a network failure) for any batch holding ``card``."""

    def __init__(self, url: str, token: str, card: str) -> None:
        super().__init__(url, token, timeout=10)
        self.card = card

    def commit_batch(self, items):  # type: ignore[no-untyped-def]
        if any(body.get("card_number") == self.card for _key, body in items):
            raise RuntimeError("a bug in the lane")
        return super().commit_batch(items)


@pytest.mark.parametrize("member", [0, 1])  # the main thread's lane, then another's
def test_a_bug_in_any_lane_reaches_the_caller_and_loses_nothing(
        tmp_path: Path, back_office: BackOfficeServer, member: int) -> None:
    with Outbox(tmp_path / "o.sqlite3", batch_size=4, lanes=2) as box:
        keys = fill(box, back_office, 24)
        with pytest.raises(RuntimeError, match="a bug in the lane"):
            box.replay(Faulty(back_office.url, back_office.token, back_office.cards[member]))
        assert box.depth() == 24  # nothing recorded: every sale is still queued
        assert box.replay(back_office.client(timeout=10)).ok
        assert all(box.state(k) == "delivered" for k in keys)
    assert_once_each(back_office, [f"s{i}" for i in range(24)])
