"""The back office is never called under the session's lock: while it takes its time, the
screen, the scanners and the local API still read and change the session."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from pos_agent.till import TillError, TillSession, TillSettings
from tests.pos_agent.till.conftest import LAYLA, OMAR, FakeBackOffice

WAIT = 5.0
GATED = {"identify", "find_member", "quote", "commit", "commit_batch", "public_key"}


class SlowBackOffice:
    """The fake back office behind a gate: each call waits until the test lets it through."""

    def __init__(self, inner: FakeBackOffice) -> None:
        self.inner = inner
        self.entered = threading.Event()
        self.open = threading.Event()
        self.open.set()
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in GATED:
            return attr

        def gated(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            self.entered.set()
            assert self.open.wait(WAIT), "the test never let the call through"
            return attr(*args, **kwargs)

        return gated

    def hold(self) -> None:
        """From now on, calls wait at the gate."""
        self.entered.clear()
        self.open.clear()


@pytest.fixture
def slow(back_office: FakeBackOffice) -> SlowBackOffice:
    return SlowBackOffice(back_office)


@pytest.fixture
def session(slow, outbox, cache, clock, slips) -> TillSession:  # type: ignore[no-untyped-def]
    return TillSession(client=slow, outbox=outbox, cache=cache, print_slip=slips.append,
                       settings=TillSettings(currency="AED", commit_timeout=WAIT),
                       clock=clock)


def _in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(fn())
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _member_and_milk(s: TillSession) -> None:
    s.identify_card(LAYLA)
    s.add_line(sku="MILK")


def _quoted(s: TillSession) -> None:
    _member_and_milk(s)
    s.quote()


STEPS = {
    # name: (what the session holds first, the step that calls the back office, the call)
    "identify_card": ("idle", lambda s: s.identify_card(LAYLA), "identify"),
    "identify_phone": ("idle", lambda s: s.identify_phone("+971501234567"), "find_member"),
    "quote": ("basket", lambda s: s.quote(), "quote"),
    "commit_unquoted": ("basket", lambda s: s.commit(), "quote"),
    "commit_quoted": ("quoted", lambda s: s.commit(), "commit_batch"),
    "add_coupon_qr": ("member", lambda s, payload: s.add_coupon(payload=payload), "public_key"),
}
ARRANGE: dict[str, Callable[[TillSession], None]] = {
    "idle": lambda s: None, "member": lambda s: s.identify_card(LAYLA),
    "basket": _member_and_milk, "quoted": _quoted,
}


@pytest.mark.parametrize(("start", "step", "call"), STEPS.values(), ids=STEPS.keys())
def test_a_slow_back_office_keeps_nobody_waiting_for_the_session(
        session, slow, back_office, start, step, call) -> None:  # type: ignore[no-untyped-def]
    ARRANGE[start](session)
    payload = back_office.coupon(member_id=1)
    slow.hold()
    worker, outcome = _in_thread(
        lambda: step(session, payload) if call == "public_key" else step(session))
    assert slow.entered.wait(WAIT) and slow.calls[-1] == call
    reader, seen = _in_thread(session.view)
    reader.join(1.0)
    assert seen, f"reading the session waited for the back office's {call}"
    assert worker.is_alive()  # the back office is still answering
    slow.open.set()
    worker.join(WAIT)
    assert outcome and not isinstance(outcome[0], Exception), outcome


def test_a_quote_of_a_sale_that_changed_meanwhile_is_not_kept(session, slow) -> None:  # type: ignore[no-untyped-def]
    _member_and_milk(session)
    slow.hold()
    worker, outcome = _in_thread(session.quote)
    assert slow.entered.wait(WAIT)
    session.add_line(sku="BREAD")  # a scan while the back office prices the milk alone
    slow.open.set()
    worker.join(WAIT)
    [refused] = outcome
    assert isinstance(refused, TillError) and refused.code == "sale_changed"
    assert session.view().quote is None
    quote = session.quote()
    assert quote.subtotal_minor == 650 + 400  # priced again, with the bread


def test_the_next_sale_starts_while_the_last_one_is_sent(session, slow, outbox) -> None:  # type: ignore[no-untyped-def]
    _quoted(session)
    slow.hold()
    worker, outcome = _in_thread(session.commit)
    assert slow.entered.wait(WAIT) and slow.calls[-1] == "commit_batch"
    assert outbox.depth() == 1  # the sale is safe before the back office is asked
    assert session.view().step.value == "idle"
    slow.open.set()  # the next member's card is identified, then the last sale's answer
    session.identify_card(OMAR)
    worker.join(WAIT)
    [sale] = outcome
    assert sale.status == "accepted" and sale.member.card_number == LAYLA
    view = session.view()
    assert view.last_sale == sale and view.member is not None
    assert view.member.card_number == OMAR and view.message == "member: Omar Saleh"


def test_slips_print_one_at_a_time(back_office, outbox, cache, clock) -> None:  # type: ignore[no-untyped-def]
    printing, first_may_finish = threading.Event(), threading.Event()
    printed: list[str] = []
    at_once: list[int] = []
    busy = [0]

    def print_slip(sale) -> None:  # type: ignore[no-untyped-def]
        busy[0] += 1
        at_once.append(busy[0])
        printing.set()
        if not printed:  # the first slip is slow: paper, a serial line at 9,600 baud
            first_may_finish.wait(WAIT)
        printed.append(sale.member.card_number)
        busy[0] -= 1

    session = TillSession(client=back_office, outbox=outbox, cache=cache, print_slip=print_slip,
                          settings=TillSettings(currency="AED"), clock=clock)
    _member_and_milk(session)
    first, _ = _in_thread(session.commit)
    assert printing.wait(WAIT)
    session.identify_card(OMAR)  # the session is free while the slip prints
    session.add_line(sku="BREAD")
    second, outcome = _in_thread(session.commit)
    second.join(0.3)
    assert second.is_alive() and printed == []  # queued behind the first slip
    first_may_finish.set()
    first.join(WAIT)
    second.join(WAIT)
    assert printed == [LAYLA, OMAR] and max(at_once) == 1 and outcome[0].slip_printed
