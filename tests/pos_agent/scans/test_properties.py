"""Properties of classify() over arbitrary text: total, and it never leaks a card number."""

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pos_agent.scans import Junk, PaymentCard, Scan, classify, describe
from pos_agent.symbologies.magstripe import parse_swipe

TEST_PANS = ["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117"]
ALL_DIGITS = "0123456789" + "".join(chr(0x0660 + i) + chr(0x06F0 + i) for i in range(10))
# What scanners and swipes are made of, so the examples hit the interesting paths often.
SCANNER_TEXT = st.text(
    alphabet=st.sampled_from(list("0123456789%;+?=^]EeCQd01LCFN:.-_ B\x1d\x00\r\n(")),
    max_size=60,
)
ANY_TEXT = st.one_of(st.text(max_size=200), SCANNER_TEXT)
PREFIXES = ["", "]C0", "]Q1", "]E0", "]C1", "%B", ";", "LC1.", "LCFN:"]


def _digit_runs(text: str, minimum: int = 12) -> list[str]:
    folded = text.translate({0x0660 + i: str(i) for i in range(10)} | {
        0x06F0 + i: str(i) for i in range(10)} | {0: None})
    return [run for run in re.findall(r"[0-9]+", folded) if len(run) >= minimum]


@settings(max_examples=400, deadline=None)
@given(ANY_TEXT, st.booleans())
@example("%E?;E?", False)
@example("]C1" + "1" * 30, False)
@example("LC1." + "[" * 2000 + ".x", False)
def test_classify_never_raises_and_junk_never_echoes(text: str, typed: bool) -> None:
    scan = classify(text, typed=typed)
    assert isinstance(scan, Scan)
    shown = describe(scan)  # every kind has a line for the cashier
    assert isinstance(shown, str) and shown
    if isinstance(scan, Junk):
        for run in _digit_runs(text):
            assert run not in scan.message
        assert not re.search(r"[0-9]{12}", scan.message)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(TEST_PANS),
    st.sampled_from(PREFIXES),
    st.text(max_size=40).filter(lambda s: not s or s[-1] not in ALL_DIGITS + "\x00"),
    st.text(max_size=40).filter(lambda s: not s or s[0] not in ALL_DIGITS + "\x00"),
    st.booleans(),
)
def test_a_payment_card_number_anywhere_in_a_scan_is_refused(
    pan: str, prefix: str, before: str, after: str, typed: bool
) -> None:
    # Whatever surrounds a test PAN (no digit touching it), the scan is a payment card, and
    # nothing it gives back shows the number.
    text = prefix + before + pan + after  # an AIM prefix's digit is stripped with it
    scan = classify(text, typed=typed)
    assert scan == PaymentCard()
    for shown in (repr(scan), str(scan), describe(scan)):
        assert pan not in shown and pan[-4:] not in shown


@settings(max_examples=300, deadline=None)
@given(SCANNER_TEXT)
def test_track_parsing_is_total(text: str) -> None:
    swipe = parse_swipe(text)
    if swipe is not None:
        assert len(swipe.tracks) + swipe.errors <= 3
        for track in swipe.tracks:
            assert track.number not in repr(track) or not track.number
