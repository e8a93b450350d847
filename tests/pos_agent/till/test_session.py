"""The till session's steps and refusals, on the real outbox and cache and a fake back office."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from loyalty.coupons import codes
from pos_agent import scans
from pos_agent.till import PAYMENT_CARD_MESSAGE, Step, TillError, TillSession
from tests.pos_agent.till.conftest import BREAD, LAYLA, MILK, OMAR, STRANGER

VISA_TEST_PAN = "4111111111111111"
A_CODE = codes.new_code()


def milk(quantity: int = 1) -> scans.ProductScan:
    return scans.ProductScan(gtin=scans.gtin14(MILK["barcode"]), sku=None, symbology="ean-13")


def at_step(session: TillSession, step: str, back_office=None) -> TillSession:  # type: ignore[no-untyped-def]
    """Walk a fresh session to ``step``."""
    if step in ("member", "basket", "quoted"):
        session.identify_card(LAYLA, via="stripe")
    if step in ("basket", "quoted", "lines_only"):
        session.add_line(sku="MILK", quantity=2)
    if step == "quoted":
        session.quote()
    assert session.step.value == {"lines_only": "basket"}.get(step, step)
    return session


# --- transitions ---------------------------------------------------------------------------------


def test_a_sale_from_card_to_slip(session, back_office, outbox, slips) -> None:
    assert session.step is Step.IDLE
    member = session.identify_card(LAYLA, via="stripe")
    assert (session.step, member.name, member.balance) == (Step.MEMBER, "Layla Haddad", 800)
    session.add_product(milk())
    session.add_product(milk())  # the same product again: one line, quantity 2
    session.add_line(sku="BREAD", quantity=1)
    assert session.step is Step.BASKET
    assert [(line.sku, line.quantity) for line in session.view().lines] == [("MILK", 2),
                                                                            ("BREAD", 1)]
    quote = session.quote()
    assert (session.step, quote.subtotal_minor, quote.estimated) == (Step.QUOTED, 1700, False)
    sale = session.commit(redeem_points=200)
    assert sale.status == "accepted"
    assert (sale.points_earned, sale.balance_after, sale.payable_minor) == (17, 617, 1500)
    assert session.step is Step.IDLE and session.view().last_sale == sale
    assert slips == [dataclasses.replace(sale, slip_printed=False)] and sale.slip_printed
    assert outbox.state(sale.key) == "delivered" and outbox.depth() == 0
    assert back_office.commits[sale.key]["points_redeemed"] == 200


def test_coupon_bonus_points_count_as_earned(session, back_office, monkeypatch) -> None:
    # The back office answers a bonus_points coupon's points apart from the basket's earning;
    # the screen and the slip show what the member gets: both.
    quote, commit = back_office.quote, back_office.commit
    monkeypatch.setattr(back_office, "quote", lambda body: {**quote(body), "bonus_points": 25})
    monkeypatch.setattr(back_office, "commit",
                        lambda body, key: {**commit(body, key), "bonus_points": 25})
    at_step(session, "basket")
    assert session.quote().points_earned == 13 + 25
    assert session.commit().points_earned == 13 + 25


def test_lines_may_come_before_the_member(session) -> None:
    session.add_line(sku="MILK")
    assert session.step is Step.BASKET
    session.identify_card(LAYLA)
    assert session.quote().subtotal_minor == 650


@pytest.mark.parametrize("change", [
    lambda s: s.add_line(sku="BREAD"),
    lambda s: s.void_line(1),
    lambda s: s.identify_card(OMAR),
    lambda s: s.add_coupon(code=A_CODE),
])
def test_a_change_after_the_quote_drops_it(session, change) -> None:  # type: ignore[no-untyped-def]
    at_step(session, "quoted")
    change(session)
    assert session.view().quote is None
    assert session.step in (Step.BASKET, Step.MEMBER)


def test_commit_without_a_quote_quotes_first(session, back_office) -> None:
    at_step(session, "basket")
    sale = session.commit()
    # The session's own quote (nothing redeemed yet), then the fake's pricing of the commit:
    # without the first, there would be only one.
    assert sale.status == "accepted" and len(back_office.quotes) == 2
    assert back_office.quotes[0]["redeem_points"] == 0 and "offline" not in back_office.quotes[0]


def test_identify_by_phone(session, cache) -> None:
    member = session.identify_phone("+971501234567")
    assert (member.member_id, member.via, member.card_number) == (1, "phone", None)
    session.add_line(sku="MILK")
    sale = session.commit()
    assert sale.status == "accepted"
    assert cache.member_by_phone("+971501234567")[0]["id"] == 1


@pytest.mark.parametrize("step", ["member", "basket", "quoted", "lines_only"])
def test_cancel_at_any_step_before_commit(session, outbox, step) -> None:
    at_step(session, step)
    session.cancel()
    view = session.view()
    assert (view.step, view.member, view.lines, view.message) == (Step.IDLE, None, (),
                                                                  "sale cancelled")
    assert outbox.depth() == 0 and outbox.dead_letters() == []


def test_void_a_line(session) -> None:
    at_step(session, "basket")
    session.add_line(sku="BREAD")
    assert session.void_line(1).sku == "MILK"
    assert [line.sku for line in session.view().lines] == ["BREAD"]
    session.void_line(1)
    assert session.step is Step.MEMBER


# --- refusals: a clear error, nothing changed ----------------------------------------------------

REFUSALS = [
    # (step to start from, the step that is refused, expected code)
    ("idle", lambda s: s.commit(), "empty_basket"),
    ("idle", lambda s: s.quote(), "empty_basket"),
    ("idle", lambda s: s.cancel(), "illegal_step"),
    ("member", lambda s: s.commit(), "empty_basket"),
    ("lines_only", lambda s: s.commit(), "no_member"),
    ("lines_only", lambda s: s.quote(), "no_member"),
    ("idle", lambda s: s.add_coupon(code=A_CODE), "illegal_step"),
    ("basket", lambda s: s.void_line(2), "unknown_line"),
    ("basket", lambda s: s.void_line(0), "unknown_line"),
    ("basket", lambda s: s.add_line(sku="NOPE"), "unknown_product"),
    ("basket", lambda s: s.add_line(sku="MILK", quantity=0), "invalid_input"),
    ("basket", lambda s: s.add_line(sku="MILK", quantity="2"), "invalid_input"),
    ("basket", lambda s: s.add_line(sku="MILK", quantity=True), "invalid_input"),
    ("basket", lambda s: s.add_line(sku="X", unit_price_minor=-1), "invalid_input"),
    ("basket", lambda s: s.add_line(sku="X", unit_price_minor=1.5), "invalid_input"),
    ("basket", lambda s: s.add_line(sku="MILK", barcode="1"), "invalid_input"),
    ("basket", lambda s: s.add_line(), "invalid_input"),
    ("quoted", lambda s: s.commit(redeem_points=10_000), "redemption_too_large"),
    ("quoted", lambda s: s.commit(redeem_points=-1), "invalid_input"),
    ("member", lambda s: s.add_coupon(code="not a code"), "malformed_code"),
    ("member", lambda s: s.add_coupon(code=A_CODE, payload="LC1.x.y"),
     "invalid_input"),
    ("member", lambda s: s.add_coupon(payload="LC1.e30.AAAA"), "bad_coupon"),
    ("idle", lambda s: s.identify_card("1234"), "invalid_input"),
    ("basket", lambda s: s.identify_card(STRANGER), "unknown_card"),
    ("basket", lambda s: s.identify_phone("+971500000000"), "unknown_member"),
]


@pytest.mark.parametrize(("start", "step", "code"), REFUSALS)
def test_refused_steps_change_nothing(session, outbox, start, step, code) -> None:  # type: ignore[no-untyped-def]
    at_step(session, start)
    before = session.view()
    with pytest.raises(TillError) as refused:
        step(session)
    assert refused.value.code == code
    assert refused.value.message and str(refused.value) == refused.value.message
    assert session.view() == before
    assert outbox.depth() == 0


def test_errors_never_echo_a_card_number(session) -> None:
    with pytest.raises(TillError) as refused:
        session.identify_card(VISA_TEST_PAN)
    assert VISA_TEST_PAN not in str(refused.value)
    with pytest.raises(TillError) as refused:
        session.identify_card(STRANGER)
    assert STRANGER not in str(refused.value)


# --- scans -----------------------------------------------------------------------------------


def test_a_payment_card_scan_says_so_and_keeps_nothing(session, outbox, cache) -> None:
    at_step(session, "basket")
    before = session.view()
    scan = scans.classify(f";{VISA_TEST_PAN}=2912101?")
    assert isinstance(scan, scans.PaymentCard)
    view = session.handle_scan(scan)
    assert view.message == PAYMENT_CARD_MESSAGE
    assert dataclasses.replace(view, message=before.message) == before
    assert VISA_TEST_PAN not in repr(view) and VISA_TEST_PAN not in str(view)
    assert cache.get_member(VISA_TEST_PAN) is None and outbox.depth() == 0


def test_a_scanner_alone_drives_a_sale(session, outbox, slips) -> None:
    for text in [f";{LAYLA}=2912101?", MILK["barcode"], BREAD["barcode"], "LCFN:VOID",
                 MILK["barcode"], "LCFN:TOTAL"]:
        session.handle_scan(scans.classify(text))
    sale = session.view().last_sale
    assert sale is not None and sale.status == "accepted"
    assert [(line.sku, line.quantity) for line in sale.lines] == [("MILK", 2)]
    assert session.step is Step.IDLE and len(slips) == 1


def test_cancel_function_scan(session) -> None:
    at_step(session, "basket")
    session.handle_scan(scans.classify("LCFN:CANCEL"))
    assert session.step is Step.IDLE


def test_refused_scans_become_the_message(session) -> None:
    view = session.handle_scan(scans.classify("LCFN:TOTAL"))
    assert view.message == "the basket is empty" and view.step is Step.IDLE
    view = session.handle_scan(scans.classify("%E?"))
    assert "swipe it again" in view.message


# --- coupons ---------------------------------------------------------------------------------


def test_a_coupon_comes_off_by_the_code_as_typed(session) -> None:
    at_step(session, "basket")
    body = "7KQ2M9XD4R0"[: codes.CODE_LENGTH - 1]
    code = body + codes.check_symbol(body)
    session.add_coupon(code=code)
    typed = codes.display_code(code).lower().replace("0", "o")  # dashes, case, a look-alike
    assert session.remove_coupon(typed).code == code and session.view().coupons == ()
    with pytest.raises(TillError, match="no such coupon"):
        session.remove_coupon("not-a-code")


def test_an_amount_off_coupon_is_described_in_money_not_minor_units(session, back_office) -> None:
    at_step(session, "basket")
    payload = back_office.coupon(member_id=1, offer={"kind": "amount_off", "amount_minor": 500,
                                                     "currency": "AED"})
    assert session.add_coupon(payload=payload).description == "5.00 AED off"


def test_a_signed_coupon_is_checked_and_single_use(session, back_office, outbox) -> None:
    at_step(session, "basket")
    payload = back_office.coupon(member_id=1)
    coupon = session.add_coupon(payload=payload)
    assert coupon.description == "10% off"
    with pytest.raises(TillError, match="already on the sale"):
        session.add_coupon(payload=payload)
    sale = session.commit()
    assert outbox.coupon_used_locally(coupon.code) and sale.coupons == (coupon,)
    at_step(session, "basket")
    with pytest.raises(TillError) as again:
        session.add_coupon(payload=payload)
    assert again.value.code == "coupon_used"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"member_id": 2}, "another member"),
    ({"member_id": 1, "key": Ed25519PrivateKey.generate()}, "signature does not verify"),
    ({"member_id": 1, "valid_to": dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)},
     "validity window"),
])
def test_bad_coupons_are_refused(session, back_office, kwargs, message) -> None:  # type: ignore[no-untyped-def]
    at_step(session, "basket")
    with pytest.raises(TillError, match=message):
        session.add_coupon(payload=back_office.coupon(**kwargs))
    assert session.view().coupons == ()


# --- offline ---------------------------------------------------------------------------------


def test_offline_sale_from_the_cache_is_estimated_capped_and_queued(
        session, back_office, outbox) -> None:
    session.identify_card(LAYLA)  # online: the cache learns Layla (balance 800)
    session.cancel()
    back_office.offline = True
    member = session.identify_card(LAYLA)
    assert member.from_cache and member.balance == 800 and not session.online
    session.add_line(sku="MILK", quantity=10)
    quote = session.quote()
    assert quote.estimated and quote.points_earned is None
    assert quote.max_redeemable_points == 300  # the configured offline cap
    assert "ESTIMATE" in session.view().message
    with pytest.raises(TillError, match="at most 300 points can be redeemed offline"):
        session.commit(redeem_points=301)
    sale = session.commit(redeem_points=300)
    assert sale.status == "queued offline" and sale.points_earned is None
    assert outbox.depth() == 1 and outbox.pending_redemptions(1) == 300
    # The next offline sale for Layla sees the pending redemption.
    session.identify_card(LAYLA)
    session.add_line(sku="MILK", quantity=10)
    assert session.quote().max_redeemable_points == 300  # 800 - 300 = 500, capped at 300
    session.cancel()
    # Back online: the replay delivers the queued sale, once.
    back_office.offline = False
    report = outbox.replay(back_office, force=True)
    assert report.delivered == 1 and len(back_office.commits) == 1
    assert outbox.result(sale.key)["points_redeemed"] == 300


def test_offline_unknown_card_still_sells_without_redemption(session, back_office, outbox) -> None:
    back_office.offline = True
    member = session.identify_card(OMAR)  # never seen at this till
    assert not member.known
    session.add_line(sku="BREAD")
    assert session.quote().max_redeemable_points == 0
    sale = session.commit()
    assert sale.status == "queued offline" and outbox.depth() == 1


def test_offline_coupon_by_signature_only(session, back_office, cache) -> None:
    cache.put_public_key(back_office.public_key())
    session.identify_card(LAYLA)
    back_office.offline = True
    session.identify_card(LAYLA)
    session.add_line(sku="MILK", quantity=10)
    with pytest.raises(TillError, match="scan the coupon's QR code"):
        session.add_coupon(code=A_CODE)
    session.add_coupon(payload=back_office.coupon(member_id=1))
    quote = session.quote()
    assert (quote.estimated, quote.coupon_discount_minor, quote.payable_minor) == (True, 650,
                                                                                   5850)


def test_offline_stale_member_redeems_nothing(session, back_office, clock) -> None:
    session.identify_card(LAYLA)
    back_office.offline = True
    clock.now = clock.now + dt.timedelta(hours=25)
    session.identify_card(LAYLA)
    session.add_line(sku="MILK")
    assert session.quote().max_redeemable_points == 0


# --- robustness ----------------------------------------------------------------------------------


def test_a_printer_failure_does_not_undo_the_sale(back_office, outbox, cache) -> None:
    def jammed(_sale) -> None:  # type: ignore[no-untyped-def]
        raise OSError("paper jam")

    session = TillSession(client=back_office, outbox=outbox, cache=cache, print_slip=jammed)
    session.identify_card(LAYLA)
    session.add_line(sku="MILK")
    sale = session.commit()
    assert sale.status == "accepted" and not sale.slip_printed
    assert "no slip printed" in session.view().message


def test_scans_from_many_threads_at_once(session) -> None:
    session.identify_card(LAYLA)
    scan = milk()

    def scan_many() -> None:
        for _ in range(25):
            session.handle_scan(scan)

    threads = [threading.Thread(target=scan_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [(line.sku, line.quantity) for line in session.view().lines] == [("MILK", 200)]


def test_the_listener_sees_every_change(session) -> None:
    seen = []
    session.on_change = seen.append
    at_step(session, "quoted")
    assert [v.step for v in seen][-3:] == [Step.MEMBER, Step.BASKET, Step.QUOTED]
