"""A member's coupon QR code read by the barcode scanner (a pseudo-terminal), against a real
back office: the discount is on the quote, and the back office has the coupon redeemed once the
sale is in (online at once; offline once the outbox replays)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loyalty.coupons.models import Coupon, CouponStatus, OfferKind
from loyalty.coupons.services import Offer, coupon_payload, coupon_signing_key, issue_coupon
from pos_agent.agent import Agent
from pos_agent.client import BackOffice
from pos_agent.simulate import VirtualDevice
from tests.pos_agent.backoffice_server import Proxy, address
from tests.pos_agent.till.backoffice import RealBackOffice, real_back_office  # noqa: F401
from tests.pos_agent.till.helpers import agent_config, call, wait_for

MILK_BARCODE = "4006381333931"  # 6.50 AED
RICE_BARCODE = "036000291452"  # 32.00 AED
SUBTOTAL = 650 + 3200
DISCOUNT = SUBTOTAL // 10  # the coupon's 10% off


def _issue_coupon(bo: RealBackOffice, db, settings) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A 10%-off coupon for the member: its code and the signed text its QR code holds."""
    coupon = issue_coupon(db, bo.member_id, Offer(OfferKind.PERCENT_OFF, percent=10),
                          staff_id=None, actor="test")
    db.commit()
    return coupon.code, coupon_payload(coupon, coupon_signing_key(settings))


def _coupon_status(bo: RealBackOffice, code: str) -> CouponStatus:
    with bo._session_factory() as s:  # type: ignore[operator]
        return s.query(Coupon).filter_by(code=code).one().status


def _scan_a_sale(agent: Agent, scanner: VirtualDevice, card: str, qr_text: str,
                 code: str) -> dict:
    """Card, two products and the coupon's QR text through the scanner; the coupon ``code``
    must show on the till's screen.  Returns the quote the local API then gives."""
    wait_for(lambda: set(agent.device_states.values()) == {"connected"})
    scanner.send(card)  # the card's Code 128
    wait_for(lambda: agent.session.view().member is not None)
    for barcode in (MILK_BARCODE, RICE_BARCODE):
        scanner.send(barcode)
    wait_for(lambda: len(agent.session.view().lines) == 2)
    scanner.send(qr_text)
    view = wait_for(lambda: agent.session.view().coupons and agent.session.view())
    assert [c.code for c in view.coupons] == [code], view.message
    status, _, answer = call(agent.local_api.url, "POST", "/session/quote")
    assert status == 200, answer
    return answer["quote"]


@pytest.mark.parametrize("aim", ["", "]Q1"], ids=["bare", "aim-prefix"])
def test_a_coupon_qr_scanned_online_is_priced_and_redeemed(
        real_back_office, db, settings, tmp_path: Path, aim: str) -> None:  # noqa: F811
    bo = real_back_office
    code, payload = _issue_coupon(bo, db, settings)
    scanner = VirtualDevice.open("scanner")
    config = agent_config(tmp_path, bo.url, bo.token, devices=[
        {"name": "scanner", "kind": "serial", "url": scanner.path}])
    agent = Agent(config, slip_sink=lambda slip, printer: None)
    try:
        agent.sync_once()
        agent.start()
        quote = _scan_a_sale(agent, scanner, bo.card, aim + payload, code)
        assert not quote["estimated"]
        assert (quote["subtotal_minor"], quote["coupon_discount_minor"]) == (SUBTOTAL, DISCOUNT)
        assert quote["payable_minor"] == SUBTOTAL - DISCOUNT
        scanner.send("LCFN:TOTAL")
        sale = wait_for(lambda: agent.session.view().last_sale)
        assert sale.status == "accepted", sale.reason
        assert sale.payable_minor == SUBTOTAL - DISCOUNT
    finally:
        agent.stop()
        scanner.close()
    assert _coupon_status(bo, code) is CouponStatus.REDEEMED


@pytest.mark.parametrize("aim", ["", "]Q1"], ids=["bare", "aim-prefix"])
def test_a_coupon_qr_scanned_offline_is_estimated_and_redeemed_on_replay(
        real_back_office, db, settings, tmp_path: Path, aim: str) -> None:  # noqa: F811
    bo = real_back_office
    code, payload = _issue_coupon(bo, db, settings)
    proxy = Proxy(address(bo.url))  # the till's way to the back office, cut below
    scanner = VirtualDevice.open("scanner")
    config = agent_config(tmp_path, proxy.url, bo.token, timeout=3.0, devices=[
        {"name": "scanner", "kind": "serial", "url": scanner.path}])
    agent = Agent(config, slip_sink=lambda slip, printer: None)
    try:
        agent.sync_once()  # online: the catalog and the coupon key are cached
        assert agent.cache.public_key()
        proxy.close()  # the back office is gone: connections are refused
        agent.start()
        quote = _scan_a_sale(agent, scanner, bo.card, aim + payload, code)
        assert quote["estimated"]
        assert (quote["subtotal_minor"], quote["coupon_discount_minor"]) == (SUBTOTAL, DISCOUNT)
        scanner.send("LCFN:TOTAL")
        sale = wait_for(lambda: agent.session.view().last_sale)
        assert sale.status == "queued offline" and sale.coupon_discount_minor == DISCOUNT
        assert _coupon_status(bo, code) is CouponStatus.ISSUED
        report = agent.outbox.replay(BackOffice(bo.url, bo.token), force=True)
        assert report.delivered == 1 and agent.outbox.depth() == 0
    finally:
        agent.stop()
        scanner.close()
        proxy.close()
    assert _coupon_status(bo, code) is CouponStatus.REDEEMED


def test_a_points_multiplier_coupon_is_shown_priced_by_the_back_office_and_redeemed(
        real_back_office, db, settings, tmp_path: Path) -> None:  # noqa: F811
    # The till knows the kind only to describe it; the back office prices it (no discount).
    bo = real_back_office
    coupon = issue_coupon(db, bo.member_id, Offer(OfferKind.POINTS_MULTIPLIER, multiplier=3),
                          staff_id=None, actor="test")
    db.commit()
    code, payload = coupon.code, coupon_payload(coupon, coupon_signing_key(settings))
    scanner = VirtualDevice.open("scanner")
    config = agent_config(tmp_path, bo.url, bo.token, devices=[
        {"name": "scanner", "kind": "serial", "url": scanner.path}])
    agent = Agent(config, slip_sink=lambda slip, printer: None)
    try:
        agent.sync_once()
        agent.start()
        quote = _scan_a_sale(agent, scanner, bo.card, payload, code)
        assert [c.description for c in agent.session.view().coupons] == ["x3 points"]
        assert not quote["estimated"]
        assert (quote["subtotal_minor"], quote["coupon_discount_minor"]) == (SUBTOTAL, 0)
        scanner.send("LCFN:TOTAL")
        sale = wait_for(lambda: agent.session.view().last_sale)
        assert sale.status == "accepted", sale.reason
    finally:
        agent.stop()
        scanner.close()
    assert _coupon_status(bo, code) is CouponStatus.REDEEMED
