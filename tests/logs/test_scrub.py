"""The log scrubber: every written form of a card number goes, ordinary numbers stay."""

from __future__ import annotations

import json
import logging

from hypothesis import example, given
from hypothesis import strategies as st

from loyalty.cards.numbers import luhn_check_digit, luhn_valid
from loyalty.logging_setup import MASK, JsonFormatter, scrub

# Text around a number that is not itself part of a number: no digits, no decimal points.
_AROUND = st.text(alphabet=st.characters(blacklist_categories=("Nd", "Cs"),
                                         blacklist_characters="."), max_size=20)


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    length = draw(st.integers(13, 19))
    payload = draw(st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1))
    return payload + luhn_check_digit(payload)


def _written(number: str, separator: str) -> str:
    return separator.join(number[i:i + 4] for i in range(0, len(number), 4))


@given(card_numbers(), st.sampled_from(["", " ", "-"]), _AROUND, _AROUND)
@example("4111111111111111", " ", "card ", ".")
def test_every_written_form_of_a_card_number_is_removed(number, separator, before, after):
    written = _written(number, separator)
    cleaned = scrub(before + written + after)
    assert written not in cleaned
    assert cleaned == before + MASK + after


@given(card_numbers(), st.integers(0, 999), st.sampled_from([" ", "-"]))
@example("4111111111111111", 2, " ")
def test_a_card_number_next_to_other_numbers_is_still_removed(number, quantity, separator):
    written = _written(number, separator)
    cleaned = scrub(f"qty {quantity} {written},{written} sold")
    # The quantity may go too (``0`` before a card is still a Luhn-valid number): safe side.
    assert written not in cleaned
    assert cleaned.count(MASK) == 2
    assert cleaned.startswith("qty ") and cleaned.endswith(" sold")


@given(st.integers(0, 10**6), st.text(alphabet="0123456789", min_size=1, max_size=30),
       st.sampled_from(["s", " ms", "", ","]))
@example(0, "0123456789012345", "s")  # what Celery printed as 0.[card number removed]s
def test_decimal_numbers_are_left_alone(whole, fraction, unit):
    text = f"Task ledger.expire_points succeeded in {whole}.{fraction}{unit}: None"
    assert scrub(text) == text


@given(st.floats(allow_nan=False))
def test_floats_as_python_prints_them_are_left_alone(value):
    text = f"took {value!r} seconds"
    assert scrub(text) == text


@given(st.integers(0, 10**12 - 1) | st.integers(10**19, 10**40))
def test_integers_too_short_or_too_long_for_a_card_are_left_alone(value):
    assert scrub(f"id={value} ok") == f"id={value} ok"


@given(st.integers(10**12, 10**19 - 1).filter(lambda n: not luhn_valid(str(n))))
def test_integers_that_fail_luhn_are_left_alone(value):
    assert scrub(f"took {value} ns") == f"took {value} ns"


def test_a_long_run_of_digit_groups_is_masked_whole_and_quickly():
    run = " ".join(["1234"] * 5000)
    assert scrub(f"[{run}]") == f"[{MASK}]"


def test_the_json_formatter_scrubs_the_message_but_not_a_duration():
    record = logging.LogRecord(
        "celery.app.trace", logging.INFO, __file__, 1,
        "Task %s succeeded in %ss: card %s", ("x", 0.0123456789012345, "4111 1111 1111 1111"),
        None,
    )
    message = json.loads(JsonFormatter().format(record))["msg"]
    assert message == f"Task x succeeded in 0.0123456789012345s: card {MASK}"
