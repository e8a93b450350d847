"""The lane's screen: the pure render function, and the writer that redraws on change."""

from __future__ import annotations

import datetime as dt
import io

from loyalty.money import format_money
from pos_agent.display import TerminalDisplay, money, render
from pos_agent.till import AppliedCoupon, Line, Member, Quote, Step, View

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
LAYLA = Member(card_number="9871000000000010", member_id=1, name="Layla Haddad", tier="Gold",
               balance=1234, fetched_at=NOW - dt.timedelta(hours=3), from_cache=True)


def view(**changes) -> View:  # type: ignore[no-untyped-def]
    base = dict(step=Step.IDLE, member=None, lines=(), coupons=(), quote=None, currency="AED",
                online=True, queue_depth=0, message="ready", last_sale=None)
    return View(**{**base, **changes})  # type: ignore[arg-type]


def test_money_follows_the_currency_minor_unit() -> None:
    assert [money(123456, "AED"), money(-5, "AED"), money(1234, "KWD"), money(1234, "JPY")] == \
        ["1,234.56", "-0.05", "1.234", "1,234"]


def test_money_agrees_with_the_slip_on_minor_units() -> None:
    # The screen and the slip read one table (loyalty.money); the screen once had its own,
    # which showed West African francs (no minor unit) as hundredths.
    assert money(1500, "XOF") == "1,500"
    assert format_money(1500, "XOF") == "1500 XOF"


def test_an_idle_lane() -> None:
    text = render(view(), title="Mall / lane 1")
    assert text.splitlines()[0].startswith(" Mall / lane 1")
    assert text.splitlines()[0].endswith("ONLINE  queue 0")
    assert "(swipe or scan the member's card)" in text and "(no lines)" in text
    assert text.splitlines()[-1] == " > ready"
    assert "\x1b[" not in text


def test_a_quoted_offline_sale() -> None:
    quote = Quote(subtotal_minor=2300, coupon_discount_minor=230, payable_minor=2070,
                  max_redeemable_points=300, point_value_minor=1, points_earned=None,
                  balance=1234, estimated=True)
    text = render(view(
        step=Step.QUOTED, member=LAYLA, online=False, queue_depth=4,
        lines=(Line("MILK", "Milk 1L", 2, 650), Line("RICE", "Rice 5kg", 1, 1000)),
        coupons=(AppliedCoupon("7KQ2M9XD4RWC", description="10% off"),),
        quote=quote, message="offline: ESTIMATE"), now=NOW)
    lines = text.splitlines()
    assert lines[0].endswith("OFFLINE  queue 4")
    assert " Member  Layla Haddad  (Gold)  card ************0010" in lines
    assert "         balance 1,234 points  [cached 3 h ago]" in lines
    assert "   1  Milk 1L                       2 x       6.50       13.00" in lines
    assert " Coupon  7KQ2-M9XD-4RWC  10% off" in lines
    assert any(line.startswith(" Coupon discount") and line.endswith("-2.30") for line in lines)
    assert any(line.startswith(" Payable") and line.endswith("20.70") for line in lines)
    assert " Points earned ?    redeemable up to 300" in lines
    assert " ESTIMATE (offline): the back office prices this sale later" in lines
    assert "9871000000000010" not in text
    assert all(len(line) <= 64 for line in lines)


def test_an_unknown_card_offline() -> None:
    member = Member(card_number="9871000000000010", member_id=None, known=False)
    assert " Member  card ************0010  (not known here: offline)" in render(
        view(member=member, step=Step.MEMBER)).splitlines()


def test_the_writer_redraws_only_on_change() -> None:
    stream = io.StringIO()
    display = TerminalDisplay(stream, color=True)
    display(view())
    display(view())
    display(view(message="sale cancelled"))
    out = stream.getvalue()
    assert out.count("\x1b[H\x1b[2J") == 2 and "\x1b[32mONLINE\x1b[0m" in out
    assert out.rstrip().endswith("> sale cancelled")
