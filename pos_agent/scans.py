"""Classify a scan: member card, coupon, product, payment card (refused), function, or junk.

:func:`classify` is pure: text in, one :data:`Scan` out, never an exception.  The decoders it
uses live in :mod:`pos_agent.symbologies`.

Invariants
----------
* **A payment card carries nothing.**  :class:`PaymentCard` has no fields; no other kind is
  built from text that holds a payment card number, and :class:`Junk` messages are fixed
  strings that never quote the scan.  A :class:`MemberCard` shows only its last four digits
  in ``repr``.
* **Every scan becomes exactly one kind**, decided in this order (the order is the policy):

  1. *Payment card.*  Any run of 12-19 digits (bare, or grouped by single spaces or dashes as
     a person types them) that is Luhn-valid with a payment network's prefix and length
     (``loyalty.cards.numbers.looks_like_payment_card``), and any stripe whose account number
     is one or whose track 1 has format code ``B`` (ISO/IEC 7813: financial institutions).
     Exception: a scan that is, as a whole, a GTIN with a valid GS1 check digit and is either
     12 or 13 digits long, or is tagged by the scanner as EAN/UPC or ITF-14.  Everyday
     products collide here: German EAN-13s start with 40-44, a Visa range, and one in ten
     passes Luhn too; UPC-As start with 5 or 6, Maestro ranges.  The 12- and 13-digit PAN
     lengths are retired (Visa) or rare (Maestro), so the product wins; at 14 digits
     (Diners) and above the payment card wins unless the AIM identifier says ITF-14.
  2. *Swipe.*  Track data (``%``, ``;``, ``+``): a member card, or junk asking to swipe
     again (error sentinels ``%E?``, ``;E?``, ``+E?``; unreadable tracks; tracks that
     disagree), or "not one of our cards".
  3. *Function barcode* ``LCFN:TOTAL``, ``LCFN:CANCEL``, ``LCFN:VOID``.
  4. *The AIM symbology identifier decides* when present: EAN/UPC/ITF-14 data is a product
     (or junk); GS1-128, GS1 DataMatrix, GS1 QR, DataBar data is a GS1 element string.
  5. *Coupon payload* ``LC1.<claims>.<signature>``: the signature is left to the till.
  6. *Member card*: the programme's prefix, length and Luhn check digit.  It wins over a
     GTIN reading of the same digits, since our cards are printed as Code 128 and QR
     (``loyalty/cards/render.py``), never EAN.  At the default 16 digits nothing collides
     (GTINs have 8, 12, 13 or 14 digits, and a 16-digit GS1 string starts with its AI, 00-02);
     a programme configured at 13 or 14 digits should keep a prefix starting 98-99, GS1's
     coupon and refund ranges, which no product carries.
  7. *GTIN*: 8 (EAN-8, or UPC-E when it starts with 0 or 1 and checks as one), 12 (UPC-A),
     13 (EAN-13) or 14 digits with a valid check digit; a wrong check digit at those lengths
     is junk, never a SKU.  The GTIN is keyed as GTIN-14 (:func:`gtin14`).
  8. *GS1 element string* without an identifier: it holds a GS (FNC1), is in the
     ``(01)...`` human-readable form, is a GS1 Digital Link URI, or starts with AI 00-02.
  9. *Coupon code* (Crockford, with check symbol): a scanned one must be canonical, as the
     barcode prints it; a typed one may have dashes, spaces and lower case.
  10. *SKU*: short text of letters, digits and ``-._/`` and no run of 12 or more digits
      (such a run could be a card number, so it is junk instead).
  11. Anything else is junk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from loyalty.cards.numbers import is_programme_number, looks_like_payment_card, mask
from loyalty.coupons.codes import display_code, is_valid_code, normalise_code
from loyalty.coupons.signing import FORMAT as COUPON_FORMAT
from loyalty.coupons.signing import MAX_PAYLOAD_CHARS, BadPayload, read_claims
from pos_agent.symbologies import gs1
from pos_agent.symbologies.aim import Aim, Family, split_aim
from pos_agent.symbologies.gtin import GTIN_LENGTHS, expand_upc_e, gtin14, is_valid_gtin
from pos_agent.symbologies.magstripe import Swipe, looks_like_swipe, parse_swipe

__all__ = [
    "CouponScan", "FunctionScan", "Junk", "MemberCard", "PaymentCard", "ProductScan", "Scan",
    "PAYMENT_CARD_TEXT", "classify", "describe", "gtin14",
]

MAX_SCAN_CHARS = 4096  # a QR code holds at most ~4,300 characters; more is a runaway line


def _(message: str) -> str:
    """Marks a cashier-facing string for translation; a later i18n pass extracts ``_()``."""
    return message


# --- the kinds of scan --------------------------------------------------------------------


@dataclass(frozen=True)
class MemberCard:
    number: str
    via: str  # "stripe" | "barcode" | "qr" | "typed"

    def __repr__(self) -> str:  # card data stays out of logs: last four digits only
        return f"MemberCard(number={mask(self.number)!r}, via={self.via!r})"


@dataclass(frozen=True)
class CouponScan:
    code: str | None  # canonical (loyalty.coupons.codes); None if a payload's claims are unreadable
    signed_payload: str | None  # the LC1 text as scanned, for the till to verify


@dataclass(frozen=True)
class ProductScan:
    gtin: str | None  # GTIN-14 form (see gtin14), the catalog key
    sku: str | None  # a store's own code, when the barcode is not a GTIN
    symbology: str  # "ean-13", "upc-a", "gs1-128", "code128", ... or "typed"
    ai: dict[str, str] = field(default_factory=dict)  # GS1 application identifiers read


@dataclass(frozen=True)
class PaymentCard:
    """A payment card was presented.  Deliberately empty: no digits, no mask, no hint."""


@dataclass(frozen=True)
class FunctionScan:
    name: str  # "total" | "cancel" | "void"


@dataclass(frozen=True)
class Junk:
    message: str  # for the cashier; a fixed text, never the scan
    reason: str = "unknown"  # stable code for logs and tests


Scan = MemberCard | CouponScan | ProductScan | PaymentCard | FunctionScan | Junk

PAYMENT_CARD_TEXT = _("payment card: not a loyalty card")

_JUNK_MESSAGES: dict[str, str] = {
    "empty": _("Nothing was read: scan again."),
    "too_long": _("That scan was too long to be a card, coupon or product: scan again."),
    "swipe_again": _("The card could not be read: please swipe it again."),
    "not_our_card": _("This card is not one of our loyalty cards."),
    "card_check": _("The card number does not check out: scan it again or type it."),
    "check_digit": _("The barcode's check digit is wrong: scan it again or type the number."),
    "add_on": _("Only the small add-on barcode was read: scan the main barcode."),
    "gs1": _("The product label could not be read: scan it again."),
    "gs1_no_gtin": _("This label has no product number (GTIN): scan the item's own barcode."),
    "coupon": _("The coupon could not be read: scan it again or type its code."),
    "function": _("Unknown function barcode."),
    "unknown": _("Not a card, coupon or product barcode we know."),
}


def _junk(reason: str) -> Junk:
    return Junk(_JUNK_MESSAGES[reason], reason)


_FUNCTIONS = {"LCFN:TOTAL": "total", "LCFN:CANCEL": "cancel", "LCFN:VOID": "void"}
_FUNCTION_TEXT = {
    "total": _("total: finish the sale"),
    "cancel": _("cancel the sale"),
    "void": _("void the last line"),
}


# --- classify -----------------------------------------------------------------------------


class _Programme(NamedTuple):
    prefix: str
    length: int


def classify(
    text: str, *, card_prefix: str = "9871", card_length: int = 16, typed: bool = False
) -> Scan:
    """What one scan is.  ``typed``: a cashier keyed it in (so ``via`` says "typed").

    Pure and total: returns exactly one :data:`Scan` for any text and never raises.
    """
    body = _clean(text)
    if not body:
        return _junk("empty")
    if len(body) > MAX_SCAN_CHARS:
        return _junk("too_long")
    aim, body = split_aim(body)
    if not body:
        return _junk("empty")
    if _holds_payment_card(body, aim):
        return PaymentCard()
    programme = _Programme(card_prefix, card_length)
    if aim is None and looks_like_swipe(body):
        swipe = parse_swipe(body)
        if swipe is not None or not typed:  # a typed "+98..." is a phone number, not a swipe
            return _from_swipe(swipe, programme)
    if body.upper().startswith("LCFN:"):
        name = _FUNCTIONS.get(body.upper())
        return FunctionScan(name) if name else _junk("function")
    return _from_symbol(body, aim, programme, typed)


# Arabic-Indic (U+0660..) and Extended Arabic-Indic (Persian, U+06F0..) digits, as a keyboard
# wedge with an Arabic or Persian layout or a cashier may type them, read as ASCII digits.
_FOLD_DIGITS = str.maketrans(
    {**{0x0660 + i: str(i) for i in range(10)}, **{0x06F0 + i: str(i) for i in range(10)},
     0: None}
)


def _clean(text: str) -> str:
    """Digits folded to ASCII, NULs dropped, surrounding whitespace (CR, LF) stripped."""
    return text.translate(_FOLD_DIGITS).strip()


_DIGIT_RUN = re.compile(r"[0-9]+")
# "4111 1111 1111 1111".  Anchored at a run's start and possessive, so a 4 KiB line of
# digits costs linear time, not quadratic.
_GROUPED_RUN = re.compile(r"(?<![0-9])[0-9]++(?:[ -][0-9]++)+")


def _holds_payment_card(body: str, aim: Aim | None) -> bool:
    if _is_product_number(body, aim):
        return False
    runs = _DIGIT_RUN.findall(body)
    runs += [re.sub("[ -]", "", g) for g in _GROUPED_RUN.findall(body)]
    return any(12 <= len(run) <= 19 and looks_like_payment_card(run) for run in runs)


def _is_product_number(body: str, aim: Aim | None) -> bool:
    """The whole scan is a GTIN that the policy (rule 1) lets win over a payment reading."""
    if aim is None:
        return len(body) in (12, 13) and is_valid_gtin(body)
    if aim.family in (Family.EAN, Family.EAN8, Family.ITF14):
        return is_valid_gtin(_ean_main(body, aim))
    return False


# --- stripes ------------------------------------------------------------------------------


def _from_swipe(swipe: Swipe | None, programme: _Programme) -> Scan:
    if swipe is None:
        return _junk("swipe_again")
    numbers = [t.number for t in swipe.tracks if t.number]
    # A lone short track 3 reads as track 2 with its format code in front; a PAN never
    # starts with 0 (ISO/IEC 7812 keeps MII 0 out of payments), so look behind it too.
    behind = [n[2:] for n in numbers if n.startswith("0")]
    if any(looks_like_payment_card(n) for n in numbers + behind):
        return PaymentCard()
    members = {n for n in numbers if is_programme_number(n, *programme)}
    if members:  # two different programme numbers on one card: a misread
        return MemberCard(members.pop(), "stripe") if len(members) == 1 else _junk("swipe_again")
    if any(n.startswith(programme.prefix) for n in numbers):
        return _junk("card_check")
    if any(t.format_code == "B" for t in swipe.tracks):
        return PaymentCard()  # ISO/IEC 7813 format code B: a financial institution's card
    if swipe.errors or not numbers:
        return _junk("swipe_again")  # a track failed, and it may have been the one we need
    return _junk("not_our_card")


# --- barcodes, QR codes and typed text ----------------------------------------------------


def _from_symbol(body: str, aim: Aim | None, programme: _Programme, typed: bool) -> Scan:
    family = aim.family if aim else None
    if family is Family.ADD_ON:
        return _junk("add_on")
    if aim is not None and family in (Family.EAN, Family.EAN8, Family.ITF14):
        return _from_ean(body, aim)
    if aim is not None and family is Family.GS1:
        return _from_gs1(gs1.parse_element_string(body), aim.symbology)
    if body.startswith(COUPON_FORMAT + "."):
        return _from_coupon_payload(body)
    via = "typed" if typed else ("qr" if family is Family.QR else "barcode")
    symbology = aim.symbology if aim else ("typed" if typed else "")
    digits = _digits(body, typed)
    if digits is not None:
        return _from_digits(digits, via, symbology, programme)
    if _looks_gs1(body):
        ai = _parse_any_gs1(body)
        if ai is not None or not body.lower().startswith("http"):  # other URLs are not ours
            return _from_gs1(ai, symbology or "gs1")
    if _is_coupon_code(body, typed):
        return CouponScan(normalise_code(body), None)
    if _is_sku(body):
        return ProductScan(None, body, symbology or "unknown")
    return _junk("unknown")


def _ean_main(body: str, aim: Aim) -> str:
    """The EAN/UPC digits without an appended 2- or 5-digit add-on (``]E3``)."""
    if aim.modifier == "3" and len(body) in (15, 18):
        return body[:13]
    return body


def _from_ean(body: str, aim: Aim) -> Scan:
    digits = _ean_main(body, aim)
    lengths = {Family.EAN: (8, 12, 13), Family.EAN8: (8,), Family.ITF14: (14,)}[aim.family]
    if not (digits.isascii() and digits.isdigit()) or len(digits) not in lengths:
        return _junk("unknown")
    if aim.family is Family.EAN and len(digits) == 8:  # UPC-E under ]E0
        upc_a = expand_upc_e(digits)
        return _product(upc_a, "upc-e") if upc_a else _junk("check_digit")
    if not is_valid_gtin(digits):
        return _junk("check_digit")
    return _product(digits, _inferred(digits) if aim.family is Family.EAN else aim.symbology)


def _product(digits: str, symbology: str, ai: dict[str, str] | None = None) -> ProductScan:
    return ProductScan(gtin14(digits), None, symbology, ai or {})


def _from_gs1(ai: dict[str, str] | None, symbology: str) -> Scan:
    if ai is None:
        return _junk("gs1")
    if "01" not in ai:
        return _junk("gs1_no_gtin")
    return _product(ai["01"], symbology, ai)


def _digits(body: str, typed: bool) -> str | None:
    """The digits of an all-digit scan; a typed one may be grouped by spaces or dashes."""
    if body.isascii() and body.isdigit():
        return body
    if typed and _GROUPED_RUN.fullmatch(body):
        return re.sub("[ -]", "", body)
    return None


def _from_digits(digits: str, via: str, symbology: str, programme: _Programme) -> Scan:
    if is_programme_number(digits, *programme):
        return MemberCard(digits, via)
    if len(digits) == programme.length and digits.startswith(programme.prefix):
        return _junk("card_check")
    if len(digits) in GTIN_LENGTHS:
        return _gtin_from_digits(digits, symbology)
    if len(digits) >= 16 and digits[:2] in ("00", "01", "02"):
        return _from_gs1(gs1.parse_element_string(digits), symbology or "gs1")
    if len(digits) >= 12:
        return _junk("unknown")  # never a SKU: a long number could be someone's card
    return ProductScan(None, digits, symbology or "unknown")


_INFERRED = {8: "ean-8", 12: "upc-a", 13: "ean-13", 14: "gtin-14"}


def _inferred(digits: str) -> str:
    """The symbology a GTIN's digits name: a 13-digit one with a leading 0 is a UPC-A."""
    return "upc-a" if len(digits) == 13 and digits[0] == "0" else _INFERRED[len(digits)]


def _gtin_from_digits(digits: str, symbology: str) -> Scan:
    if len(digits) == 8 and digits[0] in "01":
        upc_a = expand_upc_e(digits)
        if upc_a is not None:
            return _product(upc_a, symbology or "upc-e")
    if not is_valid_gtin(digits):
        return _junk("check_digit")
    return _product(digits, symbology or _inferred(digits))


def _looks_gs1(body: str) -> bool:
    return (
        gs1.GS in body
        or body.startswith("(")
        or body.lower().startswith(("https://", "http://"))
        or (body[:2] in ("00", "01", "02") and body[2:16].isdigit() and len(body) >= 16)
    )


def _parse_any_gs1(body: str) -> dict[str, str] | None:
    return (
        gs1.parse_hri(body) or gs1.parse_digital_link(body) or gs1.parse_element_string(body)
    )


def _is_coupon_code(body: str, typed: bool) -> bool:
    if not is_valid_code(body):
        return False
    return typed or normalise_code(body) == body  # a barcode carries the canonical form


_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}")
_LONG_RUN = re.compile(r"[0-9](?:[ ._/-]?[0-9]){11}")


def _is_sku(body: str) -> bool:
    return bool(_SKU.fullmatch(body)) and not _LONG_RUN.search(body)


# --- coupon payloads ----------------------------------------------------------------------

_B64URL = re.compile(r"[A-Za-z0-9_-]+")


def _from_coupon_payload(body: str) -> Scan:
    parts = body.split(".")
    if (
        len(body) > MAX_PAYLOAD_CHARS
        or len(parts) != 3
        or not all(_B64URL.fullmatch(part) for part in parts[1:])
    ):
        return _junk("coupon")
    return CouponScan(_claimed_code(body), body)


def _claimed_code(payload: str) -> str | None:
    """The coupon code the (unverified) claims name, canonical; None if unreadable.  Shown to
    the cashier only: the till verifies the signed payload itself before using it."""
    try:
        code = read_claims(payload).code
    except BadPayload:
        return None
    return normalise_code(code) if is_valid_code(code) else None


# --- for the cashier ----------------------------------------------------------------------


def describe(scan: Scan) -> str:
    """The one line the till shows for a scan.  Never more card data than the last four."""
    match scan:
        case PaymentCard():
            return PAYMENT_CARD_TEXT
        case MemberCard(number=number):
            return _("member card {number}").format(number=mask(number))
        case CouponScan(code=str(code)):
            return _("coupon {code}").format(code=display_code(code))
        case CouponScan():
            return _("coupon (signed QR code)")
        case ProductScan(gtin=str(gtin)):
            return _("product {gtin}").format(gtin=gtin)
        case ProductScan(sku=sku):
            return _("product {sku}").format(sku=sku)
        case FunctionScan(name=name):
            return _FUNCTION_TEXT.get(name, name)
        case Junk(message=message):
            return message
    raise TypeError("not a scan")  # unreachable for a Scan; keeps the match exhaustive
