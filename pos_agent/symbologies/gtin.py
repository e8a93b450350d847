"""GTINs (EAN-8, UPC-A, UPC-E, EAN-13, GTIN-14) and their check digit, as pure functions.

The catalog key is the GTIN-14 form: the GTIN right-justified in 14 digits with leading zeros,
as the GS1 General Specifications ask databases to hold every GTIN (section 3.3.2).  So the
UPC-A ``036000291452`` scanned as 12 digits, as ``]E00036000291452`` (13 digits), or as
AI (01) in a GS1-128 all key the same product: ``00036000291452``.
"""

from __future__ import annotations

GTIN_LENGTHS = frozenset({8, 12, 13, 14})


def check_digit(payload: str) -> str:
    """The GS1 mod-10 check digit (GS1 General Specifications 7.9.1).

    Weights 3 and 1 alternate from the rightmost payload digit, which gets 3; the check
    digit brings the sum to a multiple of ten.  The same rule serves GTIN-8/12/13/14 and SSCC.
    """
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(payload)))
    return str(-total % 10)


def is_valid_gtin(digits: str) -> bool:
    """8, 12, 13 or 14 ASCII digits whose last digit is the GS1 check digit of the rest."""
    return (
        len(digits) in GTIN_LENGTHS
        and digits.isascii()
        and digits.isdigit()
        and check_digit(digits[:-1]) == digits[-1]
    )


def gtin14(digits: str) -> str | None:
    """The catalog key for a valid GTIN of any length, or None (wrong length or check digit).

    The till keys its cached catalog with this too, so a product barcode imported as 13
    digits and one scanned as 12 (UPC-A) meet.
    """
    return digits.zfill(14) if is_valid_gtin(digits) else None


def expand_upc_e(digits: str) -> str | None:
    """The 12-digit UPC-A a UPC-E (8 digits: number system 0 or 1, 6 data, check) stands for.

    Zero suppression per GS1 General Specifications 5.2.2.4.2; None when the number system
    is not 0/1 or the check digit (computed over the expanded UPC-A) does not match.
    """
    if len(digits) != 8 or not (digits.isascii() and digits.isdigit()) or digits[0] not in "01":
        return None
    system, data, check = digits[0], digits[1:7], digits[7]
    last = data[5]
    if last in "012":
        body = data[:2] + last + "0000" + data[2:5]
    elif last == "3":
        body = data[:3] + "00000" + data[3:5]
    elif last == "4":
        body = data[:4] + "00000" + data[4]
    else:
        body = data[:5] + "0000" + last
    upc_a = system + body + check
    return upc_a if is_valid_gtin(upc_a) else None
