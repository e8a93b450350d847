"""mask_card: first 4 and last 4 digits of a loyalty number; payment cards refused unprinted."""

from __future__ import annotations

import dataclasses

import pytest

from pos_agent.printer import mask_card
from tests.pos_agent.printing.slips import CARD, TEST_PAN, make_slip


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("9871000042421237", "9871 •••• •••• 1237"),
        ("9871 0000 4242 1237", "9871 •••• •••• 1237"),  # as printed on the card
        ("9871-0000-4242-1237", "9871 •••• •••• 1237"),
        ("987100004", "9871 • 0004"),  # the shortest that still hides a digit
        ("9871000042421", "9871 •••• • 2421"),  # hidden digits grouped by four
        ("9871000042421237123", "9871 •••• •••• ••• 7123"),
    ],
)
def test_mask_shows_first_and_last_four(number: str, masked: str) -> None:
    assert mask_card(number) == masked


# Test numbers published by the networks (Visa, Mastercard, Amex, Discover, JCB, UnionPay).
PANS = ["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117",
        "3530111333300000", "6200000000000005", "4111 1111 1111 1111"]


@pytest.mark.parametrize("pan", PANS)
def test_a_payment_card_is_refused_and_not_repeated(pan: str) -> None:
    with pytest.raises(ValueError, match="payment card") as refused:
        mask_card(pan)
    digits = pan.replace(" ", "")
    assert digits[:6] not in str(refused.value) and digits[-4:] not in str(refused.value)


@pytest.mark.parametrize(
    "bad", ["12345678", "", "9871abcd42421237", "9871 0000 ＡＢ", "٩٨٧١٠٠٠٠٤٢٤٢١٢٣٧"]
)
def test_too_short_or_not_digits_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        mask_card(bad)


def test_a_slip_refuses_an_unmasked_card_number() -> None:
    with pytest.raises(ValueError, match="mask_card"):
        make_slip(masked_card=CARD)
    with pytest.raises(ValueError, match="mask_card"):
        make_slip(masked_card=TEST_PAN)
    slip = make_slip()
    assert slip.masked_card == "9871 •••• •••• 1237"
    with pytest.raises(ValueError, match="timezone-aware"):
        dataclasses.replace(slip, at=slip.at.replace(tzinfo=None))
