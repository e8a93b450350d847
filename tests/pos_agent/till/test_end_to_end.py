"""Whole sales against a real back office: through the local API, through pty devices, and
against a back office that never answers."""

from __future__ import annotations

import io
import logging
import socket
import time
from pathlib import Path

import pytest

from pos_agent.agent import Agent, JsonFormatter
from pos_agent.cache import Cache
from pos_agent.client import BackOffice
from pos_agent.outbox import Outbox
from pos_agent.simulate import VirtualDevice, run_simulation, track2
from pos_agent.till import PAYMENT_CARD_MESSAGE, TillSession, TillSettings
from tests.pos_agent.till.backoffice import (  # noqa: F401 - a fixture
    START_POINTS,
    SwitchableProxy,
    real_back_office,
)
from tests.pos_agent.till.helpers import agent_config, call, wait_for

TEST_PAN = "4111111111111111"  # Visa's published test number


@pytest.fixture
def slips() -> list:
    return []


def test_a_sale_through_the_local_api(real_back_office, tmp_path, slips) -> None:  # noqa: F811
    bo = real_back_office
    config = agent_config(tmp_path, bo.url, bo.token)
    agent = Agent(config, slip_sink=lambda slip, printer: slips.append((slip, printer.output)))
    assert agent.outbox.lanes == config.replay_lanes == 2  # offline.replay_lanes reaches it
    agent.sync_once()  # the catalog, as the background thread would fetch it
    agent.start()
    api = agent.local_api.url
    try:
        status, kind, view = call(api, "GET", "/session")
        assert (status, kind, view["step"]) == (200, "application/json", "idle")
        status, _, view = call(api, "POST", "/session/member", {"card_number": bo.card})
        assert status == 200 and view["member"]["name"] == "Layla Haddad"
        assert view["member"]["balance"] == START_POINTS
        assert view["member"]["masked_card"].endswith(bo.card[-4:])
        assert call(api, "POST", "/session/lines", {"barcode": "4006381333931",
                                                     "quantity": 2})[0] == 201
        assert call(api, "POST", "/session/lines", {"sku": "RICE"})[0] == 201
        assert call(api, "POST", "/session/lines", {"sku": "BREAD",
                                                     "unit_price_minor": 350})[0] == 201
        status, _, view = call(api, "DELETE", "/session/lines/2")
        assert status == 200 and [line["sku"] for line in view["lines"]] == ["MILK", "BREAD"]
        status, _, view = call(api, "POST", "/session/quote")
        quote = view["quote"]
        assert status == 200 and view["step"] == "quoted" and not quote["estimated"]
        assert (quote["subtotal_minor"], quote["points_earned"]) == (1650, 16)
        status, _, answer = call(api, "POST", "/session/commit", {"redeem_points": 100})
        sale = answer["sale"]
        assert status == 201 and sale["status"] == "accepted" and sale["slip_printed"]
        # Points are earned on what is paid: 1,650 - 100 redeemed = 15.50 AED -> 15 points.
        assert sale["points_earned"] == 15
        assert sale["balance_after"] == START_POINTS + 15 - 100 == bo.balance()
        assert answer["session"]["step"] == "idle"
        status, _, live = call(api, "GET", "/status")
        assert (live["queue_depth"], live["dead_letters"], live["online"]) == (0, 0, True)
    finally:
        agent.stop()
    [(slip, printed)] = slips
    assert slip.masked_card.endswith(bo.card[-4:]) and slip.points_earned == 15
    assert b"Milk 1L" in printed and bo.card.encode() not in printed


def test_pty_devices_and_a_payment_card_that_leaves_no_trace(
        real_back_office, tmp_path, slips) -> None:  # noqa: F811
    bo = real_back_office
    scanner, reader = VirtualDevice.open("scanner"), VirtualDevice.open("card reader")
    screen = io.StringIO()
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    config = agent_config(tmp_path, bo.url, bo.token, devices=[
        {"name": "scanner", "kind": "serial", "url": scanner.path},
        {"name": "card reader", "kind": "serial", "url": reader.path}])
    agent = Agent(config, display=screen,
                  slip_sink=lambda slip, printer: slips.append(bytes(printer.output)))
    try:
        agent.sync_once()
        agent.start()
        wait_for(lambda: set(agent.device_states.values()) == {"connected"})
        reader.send(track2(TEST_PAN))
        wait_for(lambda: agent.session.view().message == PAYMENT_CARD_MESSAGE)
        reader.send(track2(bo.card))
        wait_for(lambda: agent.session.view().member is not None)
        for barcode in ("4006381333931", "036000291452", "4006381333931"):
            scanner.send(barcode)
        wait_for(lambda: sum(line.quantity for line in agent.session.view().lines) == 3)
        scanner.send("LCFN:TOTAL")
        sale = wait_for(lambda: agent.session.view().last_sale)
        assert sale.status == "accepted" and slips
        assert sale.points_earned == (2 * 650 + 3200) // 100
    finally:
        agent.stop()
        root.removeHandler(handler)
        root.setLevel(old_level)
        scanner.close()
        reader.close()
    assert PAYMENT_CARD_MESSAGE in screen.getvalue()
    data_files = sorted(p for p in (tmp_path / "data").iterdir() if p.is_file())
    stored = b"".join(p.read_bytes() for p in data_files)
    places = {"log": logs.getvalue().encode(), "screen": screen.getvalue().encode(),
              "outbox and cache files": stored, "sent to the back office": bytes(bo.recorder.sent),
              "slip": b"".join(slips)}
    # The search works: the member's card is where it belongs (a loyalty card may be kept).
    assert bo.card.encode() in places["outbox and cache files"]
    assert bo.card.encode() in places["sent to the back office"]
    assert b'"kind": "PaymentCard"' in places["log"]  # the swipe was read, and logged so
    grouped = " ".join(TEST_PAN[i:i + 4] for i in range(0, 16, 4))
    for place, data in places.items():
        for form in (TEST_PAN, TEST_PAN[-8:], grouped):
            assert form.encode() not in data, f"the payment card is in the {place}"


def test_the_simulator_shows_swipe_to_slip(real_back_office, tmp_path) -> None:  # noqa: F811
    bo = real_back_office
    out = io.StringIO()
    code = run_simulation(bo.url, bo.token, bo.card, products=2, out=out,
                          data_dir=tmp_path / "sim")
    text = out.getvalue()
    assert code == 0, text
    assert "sale: accepted" in text and "Milk 1L" in text
    assert bo.card[-4:] in text and bo.card not in text
    assert bo.balance() > START_POINTS


@pytest.fixture
def silent_back_office():  # type: ignore[no-untyped-def]
    """A server that accepts the connection (the kernel does) and never answers."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=16)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def test_a_back_office_that_never_answers_keeps_nobody_waiting(
        silent_back_office, tmp_path: Path) -> None:
    timeout = 0.5
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    cache = Cache(tmp_path / "cache.sqlite3")
    cache.put_products([{"sku": "MILK", "name": "Milk", "price_minor": 650,
                         "currency": "AED", "barcode": "4006381333931"}])
    session = TillSession(client=BackOffice(silent_back_office, "token", timeout=timeout),
                          outbox=outbox, cache=cache,
                          settings=TillSettings(currency="AED", commit_timeout=timeout))
    try:
        session.identify_card("9871000000000010")  # offline: an unknown member, still sold to
        session.add_line(barcode="4006381333931", quantity=2)
        started = time.monotonic()
        sale = session.commit()  # quote (times out: an estimate) and the outbox's attempt
        waited = time.monotonic() - started
        assert waited < timeout + 0.5, waited
        assert sale.status == "queued offline" and not session.online
        assert outbox.depth() == 1
        assert outbox.result(sale.key) is None and outbox.state(sale.key) == "pending"
        # Quoted first (an estimate, after the timeout), the commit's own attempt to deliver
        # is bounded too.
        session.identify_card("9871000000000010")
        session.add_line(barcode="4006381333931")
        assert session.quote().estimated
        started = time.monotonic()
        assert session.commit().status == "queued offline"
        waited = time.monotonic() - started
        assert waited < timeout + 0.5, waited
        assert outbox.depth() == 2
    finally:
        time.sleep(0.05)
        outbox.close()
        cache.close()


def test_a_back_office_that_hangs_after_the_quote(real_back_office, tmp_path: Path) -> None:  # noqa: F811
    """The worst case: the quote got through, so the commit tries at once and meets a back
    office that never answers.  The cashier waits the timeout, not more; the sale is queued and
    delivered once the back office is back."""
    bo = real_back_office
    proxy = SwitchableProxy(bo.url)
    timeout = 0.5
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    cache = Cache(tmp_path / "cache.sqlite3")
    client = BackOffice(proxy.url, bo.token, timeout=timeout)
    cache.refresh_catalog(client)
    session = TillSession(client=client, outbox=outbox, cache=cache,
                          settings=TillSettings(currency="AED", commit_timeout=timeout))
    try:
        session.identify_card(bo.card)
        session.add_line(sku="MILK", quantity=2)
        assert not session.quote().estimated
        proxy.silent = True
        started = time.monotonic()
        sale = session.commit(redeem_points=50)
        waited = time.monotonic() - started
        assert waited < timeout + 0.5, waited
        assert sale.status == "queued offline" and outbox.depth() == 1
        assert bo.balance() == START_POINTS
        time.sleep(timeout)  # the attempt in flight gives up
        report = outbox.replay(BackOffice(bo.url, bo.token), force=True)
        assert report.delivered == 1 and outbox.depth() == 0
        assert bo.balance() == START_POINTS - 50 + 12  # 13.00 - 0.50 paid: 12 points
    finally:
        proxy.close()
        outbox.close()
        cache.close()


def test_a_gone_back_office_shows_offline_after_one_heartbeat(real_back_office,  # noqa: F811
                                                              tmp_path: Path) -> None:
    bo = real_back_office
    proxy = SwitchableProxy(bo.url)
    agent = Agent(agent_config(tmp_path, proxy.url, bo.token, timeout=0.5), readers=False,
                  heartbeat_s=0.0)
    try:
        agent.sync_once()  # the catalog
        assert agent.status()["back_office"] == "online"
        asked = len(proxy.sent)
        agent.sync_once()  # nothing else to do: a heartbeat
        assert b"GET /api/v1/catalog/products?page=1&page_size=1 " in proxy.sent[asked:]
        assert agent.status()["back_office"] == "online"
        proxy.silent = True  # the back office is gone: a new connection is never answered
        agent.client.close()
        agent.sync_once()
        status = agent.status()
        assert (status["back_office"], status["online"]) == ("offline", False)
        assert "heartbeat" in status["last_error"]
    finally:
        agent.stop()
        proxy.close()
