"""Card numbers, as pure functions.

A loyalty card number is ``prefix + serial + check digit`` (Luhn, ISO/IEC 7812-1 annex B).
The programme prefix starts with 9, a major industry identifier no payment network uses, so a
loyalty number can never be mistaken for a payment card number and vice versa.
"""

from __future__ import annotations

import re
import secrets

_DIGITS = re.compile(r"^\d+$")

# Payment-network IIN ranges (first digits) and the lengths they issue.
_PAYMENT_RANGES: tuple[tuple[int, int, frozenset[int]], ...] = (
    (4, 4, frozenset({13, 16, 19})),  # Visa
    (51, 55, frozenset({16})),  # Mastercard
    (2221, 2720, frozenset({16})),  # Mastercard 2-series
    (34, 34, frozenset({15})),  # American Express
    (37, 37, frozenset({15})),
    (300, 305, frozenset({14, 16, 19})),  # Diners Club
    (36, 36, frozenset({14, 16, 19})),
    (38, 39, frozenset({16, 19})),
    (3528, 3589, frozenset({16, 17, 18, 19})),  # JCB
    (6011, 6011, frozenset({16, 19})),  # Discover
    (644, 649, frozenset({16, 19})),
    (65, 65, frozenset({16, 19})),
    (62, 62, frozenset({16, 17, 18, 19})),  # UnionPay
    (50, 50, frozenset(range(12, 20))),  # Maestro
    (56, 69, frozenset(range(12, 20))),
)


def luhn_check_digit(payload: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return bool(_DIGITS.match(number)) and len(number) > 1 and (
        luhn_check_digit(number[:-1]) == number[-1]
    )


def looks_like_payment_card(text: str) -> bool:
    """A Luhn-valid number of a payment length that starts with a payment network's prefix."""
    digits = re.sub(r"[ -]", "", text)
    if not luhn_valid(digits) or not 12 <= len(digits) <= 19:
        return False
    for low, high, lengths in _PAYMENT_RANGES:
        width = len(str(low))
        if low <= int(digits[:width]) <= high and len(digits) in lengths:
            return True
    return False


def make_card_number(prefix: str, length: int) -> str:
    """A fresh random card number with the programme prefix and a Luhn check digit."""
    serial_len = length - len(prefix) - 1
    serial = "".join(secrets.choice("0123456789") for _ in range(serial_len))
    payload = prefix + serial
    return payload + luhn_check_digit(payload)


def is_programme_number(number: str, prefix: str, length: int) -> bool:
    return len(number) == length and number.startswith(prefix) and luhn_valid(number)


def mask(number: str) -> str:
    """For slips and screens: keep the last four digits."""
    return "•" * max(0, len(number) - 4) + number[-4:]
