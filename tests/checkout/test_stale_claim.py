"""A request slower than the stale limit loses its Idempotency-Key to the till's retry, and
with it the right to record the sale: the sale is recorded once, by the retry.

The till retries a commit it heard nothing back from with the same key.  Once the first claim
is older than ``idempotency_stale_seconds`` the retry takes it over (the first request is
presumed dead); if the first was only slow, its completion must then be refused and rolled
back, or the basket would be recorded twice.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest
from sqlalchemy import func, select, text

from loyalty.baskets.models import Basket
from loyalty.checkout import services as checkout_services
from loyalty.idempotency import edge
from loyalty.ledger.services import member_balance
from tests.checkout.conftest import basket, commit

STALE_SECONDS = 1


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return replace(settings, idempotency_stale_seconds=STALE_SECONDS)


class Gate:
    """Holds the first call of a function until the test opens it; later calls pass."""

    def __init__(self, monkeypatch, owner, name: str) -> None:  # type: ignore[no-untyped-def]
        self.entered, self.opened = threading.Event(), threading.Event()
        self._calls = 0
        real = getattr(owner, name)

        def held(*args, **kwargs):  # type: ignore[no-untyped-def]
            self._calls += 1
            if self._calls == 1:
                self.entered.set()
                assert self.opened.wait(30), "the test never opened the gate"
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, held)


class Request(threading.Thread):
    """One commit on its own client and thread; ``response`` once it is done."""

    def __init__(self, app, shop, key: str) -> None:  # type: ignore[no-untyped-def]
        super().__init__(daemon=True)
        self.app, self.shop, self.key, self.response = app, shop, key, None

    def run(self) -> None:
        self.response = commit(self.app.test_client(), self.shop, basket(self.shop), self.key)

    def answer(self):  # type: ignore[no-untyped-def]
        self.join(30)
        assert not self.is_alive(), "the request never finished"
        return self.response


def _until_stale() -> None:
    time.sleep(STALE_SECONDS + 0.2)


def _recorded_once(client, db, shop, retry_body: dict) -> None:  # type: ignore[no-untyped-def]
    again = commit(client, shop, basket(shop), "slow-sale")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json == retry_body
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Basket)) == 1
    assert member_balance(db, shop.member_id) == retry_body["points_earned"] > 0
    db.rollback()


def test_a_request_stalled_before_its_sale_cannot_complete_after_a_takeover(
        app, client, db, shop, monkeypatch):
    gate = Gate(monkeypatch, checkout_services, "commit_checkout")
    original = Request(app, shop, "slow-sale")
    original.start()
    assert gate.entered.wait(10)  # claimed, and stalled before writing anything
    _until_stale()

    retry = commit(client, shop, basket(shop), "slow-sale")  # takes the stale claim over
    gate.opened.set()
    refused = original.answer()

    assert retry.status_code == 201, retry.json
    assert refused.status_code == 409 and refused.json["code"] == "request_in_flight"
    _recorded_once(client, db, shop, retry.json)


@pytest.mark.postgres  # SQLite serialises writers: the retry could not claim meanwhile
def test_a_request_stalled_after_its_sale_is_rolled_back_when_a_retry_took_over(
        app, client, db, shop, monkeypatch):
    gate = Gate(monkeypatch, edge, "complete_key")
    original = Request(app, shop, "slow-sale")
    original.start()
    assert gate.entered.wait(10)  # the sale is written, uncommitted, the key not completed
    _until_stale()

    retry = Request(app, shop, "slow-sale")
    retry.start()  # takes the claim over, then waits for the first sale's row locks
    _wait_for_a_lock_wait(db)
    gate.opened.set()
    refused, retried = original.answer(), retry.answer()

    assert refused.status_code == 409 and refused.json["code"] == "request_in_flight"
    assert retried.status_code == 201, retried.json
    _recorded_once(client, db, shop, retried.json)


def _wait_for_a_lock_wait(db) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        waiting = db.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE "
                                 "datname = current_database() AND wait_event_type = 'Lock'"))
        db.rollback()
        if waiting:
            return
        time.sleep(0.02)
    raise AssertionError("the retry never waited on the first request's sale")

