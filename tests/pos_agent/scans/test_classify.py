"""classify() and describe(): every scan becomes exactly one kind, in the documented order."""

import datetime as dt
import re
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from loyalty.cards.numbers import luhn_check_digit
from loyalty.coupons.codes import check_symbol
from loyalty.coupons.signing import sign_payload
from pos_agent.scans import (
    PAYMENT_CARD_TEXT,
    CouponScan,
    FunctionScan,
    Junk,
    MemberCard,
    PaymentCard,
    ProductScan,
    classify,
    describe,
)

GS = "\x1d"
MEMBER = "9871000000000015"  # default programme: prefix 9871, 16 digits, Luhn
CODE = "7KQ2M9XD4RW" + check_symbol("7KQ2M9XD4RW")  # a coupon code, canonical form


def _payload(code: str = CODE) -> str:
    return sign_payload(
        Ed25519PrivateKey.generate(), code=code, member_id=12, offer={"kind": "percent"},
        valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        valid_to=dt.datetime(2026, 2, 1, tzinfo=dt.UTC), store_id=None,
    )


PAYLOAD = _payload()


# --- member cards --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "typed", "via"),
    [
        (MEMBER, False, "barcode"),  # a keyboard-wedge scanner without AIM prefixes
        ("]C0" + MEMBER, False, "barcode"),  # the card's Code 128 (loyalty/cards/render.py)
        ("]Q1" + MEMBER, False, "qr"),  # the digital card's QR code
        (MEMBER + "\r\n", False, "barcode"),
        ("9871 0000 0000 0015", True, "typed"),
        ("9871-0000-0000-0015", True, "typed"),
        ("٩٨٧١٠٠٠٠٠٠٠٠٠٠١٥", True, "typed"),  # Arabic-Indic digits
        ("۹۸۷۱۰۰۰۰۰۰۰۰۰۰۱۵", True, "typed"),  # Persian digits
        (f";{MEMBER}=?", False, "stripe"),
        (f";{MEMBER}=2812?", False, "stripe"),
        (f"%B{MEMBER}^MEMBER/CARD^?;{MEMBER}=?", False, "stripe"),
        (f"%E?;{MEMBER}?", False, "stripe"),  # track 1 blank, track 2 read: good enough
    ],
)
def test_programme_numbers_are_member_cards(text: str, typed: bool, via: str) -> None:
    assert classify(text, typed=typed) == MemberCard(MEMBER, via)


def test_the_programme_prefix_and_length_are_configurable() -> None:
    number = "123400000000000" + luhn_check_digit("123400000000000")
    assert classify(number, card_prefix="1234") == MemberCard(number, "barcode")
    assert classify(MEMBER, card_prefix="1234") == Junk(
        "Not a card, coupon or product barcode we know.", "unknown")


def test_a_member_number_wins_over_a_gtin_unless_the_scanner_says_ean() -> None:
    # 96000021 is Luhn-valid and a valid EAN-8: with an 8-digit programme it is both.
    assert classify("96000021", card_prefix="96", card_length=8) == MemberCard(
        "96000021", "barcode")
    assert classify("]E496000021", card_prefix="96", card_length=8) == ProductScan(
        "00000096000021", None, "ean-8", {})


def test_member_card_repr_and_description_show_only_the_last_four() -> None:
    card = classify(MEMBER)
    assert MEMBER not in repr(card) and MEMBER not in describe(card)
    assert repr(card).endswith("0015', via='barcode')")
    assert describe(card) == "member card ••••••••••••0015"


# --- coupons -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "typed", "expected"),
    [
        (CODE, False, CouponScan(CODE, None)),  # the coupon's Code 128 carries the canonical form
        ("]C0" + CODE, False, CouponScan(CODE, None)),
        ("7kq2-m9xd-4rw" + CODE[-1].lower(), True, CouponScan(CODE, None)),
        ("7KQ2 M9XD 4RW" + CODE[-1], True, CouponScan(CODE, None)),
        (PAYLOAD, False, CouponScan(CODE, PAYLOAD)),  # the coupon's QR code
        ("]Q1" + PAYLOAD, False, CouponScan(CODE, PAYLOAD)),
        # The signature is the till's business; claims we cannot read leave the code unknown.
        ("LC1.e30.c2ln", False, CouponScan(None, "LC1.e30.c2ln")),  # {} claims
        ("LC1.bm90IGpzb24.c2ln", False, CouponScan(None, "LC1.bm90IGpzb24.c2ln")),
        ("LC1." + "W" * 1500 + ".c2ln", False, CouponScan(None, "LC1." + "W" * 1500 + ".c2ln")),
    ],
)
def test_coupons(text: str, typed: bool, expected: CouponScan) -> None:
    assert classify(text, typed=typed) == expected


def test_a_coupon_payload_naming_a_malformed_code_has_no_code() -> None:
    payload = _payload(code="NOT-A-CODE")
    assert classify(payload) == CouponScan(None, payload)


@pytest.mark.parametrize("text", ["LC1.", "LC1.abc", "LC1.a.b.c", "LC1.a b.c", "LC1." + "a" * 3000])
def test_a_broken_coupon_payload_is_junk(text: str) -> None:
    assert classify(text) == Junk(
        "The coupon could not be read: scan it again or type its code.", "coupon")


def test_a_scanned_coupon_code_must_be_canonical() -> None:
    # A barcode prints the canonical form; a lower-case look-alike is a store's own SKU.
    scan = classify(CODE.lower())
    assert isinstance(scan, ProductScan) and scan.sku == CODE.lower()


# --- products ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "gtin", "symbology", "ai"),
    [
        ("5901234123457", "05901234123457", "ean-13", {}),  # ISO/IEC 15420 example
        ("]E05901234123457", "05901234123457", "ean-13", {}),  # ISO/IEC 15424 example
        ("]E3590123412345712", "05901234123457", "ean-13", {}),  # with a 2-digit add-on
        ("]E3590123412345712345", "05901234123457", "ean-13", {}),  # 5-digit add-on
        ("036000291452", "00036000291452", "upc-a", {}),
        ("]E00036000291452", "00036000291452", "upc-a", {}),  # UPC-A sent as 13 digits
        ("]E0036000291452", "00036000291452", "upc-a", {}),
        ("0036000291452", "00036000291452", "upc-a", {}),  # a UPC-A is an EAN-13 with a 0
        ("96385074", "00000096385074", "ean-8", {}),  # GS1 General Specifications example
        ("]E496385074", "00000096385074", "ean-8", {}),
        ("01234565", "00012345000065", "upc-e", {}),
        ("]E001234565", "00012345000065", "upc-e", {}),
        ("]I110614141000415", "10614141000415", "itf-14", {}),
        ("09501101530003", "09501101530003", "gtin-14", {}),
        # GS1 General Specifications 2.1 example, as each GS1 symbology's scanner sends it.
        ("]C101095011015300031714070410AB-123", "09501101530003", "gs1-128",
         {"01": "09501101530003", "17": "140704", "10": "AB-123"}),
        ("]d201095011015300031714070410AB-123", "09501101530003", "gs1-datamatrix",
         {"01": "09501101530003", "17": "140704", "10": "AB-123"}),
        ("]Q301095011015300031714070410AB-123", "09501101530003", "gs1-qr",
         {"01": "09501101530003", "17": "140704", "10": "AB-123"}),
        ("]e00109501101530003", "09501101530003", "gs1-databar", {"01": "09501101530003"}),
        ("]C10109501101530003" + "10LOT" + GS + "3103000250", "09501101530003", "gs1-128",
         {"01": "09501101530003", "10": "LOT", "3103": "000250"}),
        # Without an AIM prefix the content tells: AI 01 first, a GS, or the (01) form.
        ("0109501101530003", "09501101530003", "gs1", {"01": "09501101530003"}),
        ("0109501101530003" + "10LOT" + GS + "21S1", "09501101530003", "gs1",
         {"01": "09501101530003", "10": "LOT", "21": "S1"}),
        ("(01)09501101530003(10)AB-123", "09501101530003", "gs1",
         {"01": "09501101530003", "10": "AB-123"}),
        ("https://id.gs1.org/01/09501101530003", "09501101530003", "gs1",
         {"01": "09501101530003"}),
        ("]Q1https://id.gs1.org/01/09501101530003", "09501101530003", "qr",
         {"01": "09501101530003"}),
    ],
)
def test_gtin_products(text: str, gtin: str, symbology: str, ai: dict[str, str]) -> None:
    assert classify(text) == ProductScan(gtin, None, symbology, ai)


@pytest.mark.parametrize(
    ("text", "typed", "sku", "symbology"),
    [
        ("]C0ABC-123", False, "ABC-123", "code128"),
        ("]A0SHIRT/BLUE.XL", False, "SHIRT/BLUE.XL", "code39"),
        ("ABC-123", False, "ABC-123", "unknown"),
        ("12345", False, "12345", "unknown"),  # a short store code (PLU)
        ("12345", True, "12345", "typed"),
    ],
)
def test_store_codes_are_skus(text: str, typed: bool, sku: str, symbology: str) -> None:
    assert classify(text, typed=typed) == ProductScan(None, sku, symbology, {})


# --- payment cards -------------------------------------------------------------------------

# The networks' published test numbers.
VISA, MASTERCARD, AMEX = "4111111111111111", "5555555555554444", "378282246310005"
DINERS = "30569309025904"
PAYMENT_SCANS = [
    VISA, MASTERCARD, AMEX, DINERS, "4222222222222", "6011111111111117",
    "4111 1111 1111 1111", "4111-1111-1111-1111", "3782 822463 10005",
    "٤١١١١١١١١١١١١١١١",  # Arabic-Indic digits
    "4111\x001111\x0011111111",  # NUL bytes from a flaky scanner
    "]C0" + VISA, "]Q1" + VISA, "]E0" + VISA, "]I1" + DINERS, "]C1" + VISA,
    # Tracks built per ISO/IEC 7813 (1, 2) and ISO/IEC 4909 (3) from the test numbers.
    f"%B{VISA}^DOE/JOHN^2512101000000000?",
    f";{MASTERCARD}=25121010000000000000?",
    f"%B{AMEX}^DOE/JANE^2512101000000000?;{AMEX}=25121010000000000000?",
    f"%B{VISA}^DOE/JOHN^2512101000000000?;{VISA}=25121010000000000000?;01{VISA}==978?",
    f";01{VISA}==978200001000000100000130300000000000000281210000000000==0000000?",  # 3 only
    f"%E?;{VISA}=2512?",  # track 1 failed, track 2 is a payment card
    f"%B{VISA}^DOE/JOHN^2512",  # a half-read swipe still holds the number
    # Wikipedia "ISO/IEC 7813" examples: Luhn-valid, and one that is not but has format B.
    "%B4815881002861896^YATES/EUGENE L            ^^^356858      00998000000?",
    "%B4815881002867896^YATES/EUGENE JOHN         ^37829821000123456789?",
    # A PAN hidden in anything else is still a PAN.
    f"LCFN:TOTAL{VISA}", f"https://shop.example/?card={VISA}", f"LC1.{VISA}.c2ln",
    f"(01)09501101530003(21){VISA}", f"0109501101530003{GS}21 {VISA}", f"SKU-{VISA}",
    f"%B{VISA}^DOE/JOHN^2512101000000000?;{MEMBER}=?",  # whatever else the card holds
    f";01{VISA}=?",  # a short lone track 3, read as track 2 with "01" in front
    # Visa-shaped and a valid EAN-13, but the scanner says Code 128: the card wins (rule 1).
    "]C04000000000006",
]


@pytest.mark.parametrize("text", PAYMENT_SCANS)
def test_payment_cards_are_refused_and_carry_nothing(text: str) -> None:
    scan = classify(text)
    assert scan == PaymentCard()
    assert describe(scan) == PAYMENT_CARD_TEXT == "payment card: not a loyalty card"
    for shown in (repr(scan), str(scan), describe(scan)):
        assert not re.search(r"\d", shown)


@pytest.mark.parametrize("text", PAYMENT_SCANS)
def test_payment_cards_are_refused_when_typed_too(text: str) -> None:
    assert classify(text, typed=True) == PaymentCard()


def test_the_product_wins_for_12_and_13_digit_gtins_that_are_also_pan_shaped() -> None:
    # 4000000000006: a valid EAN-13 (German prefix 400) and a Luhn-valid 13-digit Visa; the
    # 13-digit Visa length is retired, German EAN-13s are on every shelf.  Rule 1.
    assert classify("4000000000006") == ProductScan("04000000000006", None, "ean-13", {})
    assert classify("]E04000000000006") == ProductScan("04000000000006", None, "ean-13", {})
    # 600000000064: a valid UPC-A and a Luhn-valid 12-digit Maestro.
    assert classify("600000000064") == ProductScan("00600000000064", None, "upc-a", {})


def test_the_payment_card_wins_for_14_digits_unless_the_scanner_says_itf_14() -> None:
    # 30000000000087: a valid GTIN-14 and a Luhn-valid Diners Club number.
    assert classify("30000000000087") == PaymentCard()
    assert classify("]I130000000000087") == ProductScan("30000000000087", None, "itf-14", {})


# --- functions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "shown"),
    [
        ("LCFN:TOTAL", "total", "total: finish the sale"),
        ("]C0LCFN:CANCEL", "cancel", "cancel the sale"),
        ("LCFN:VOID\r\n", "void", "void the last line"),
        ("lcfn:total", "total", "total: finish the sale"),  # caps lock on a keyboard wedge
    ],
)
def test_function_barcodes(text: str, name: str, shown: str) -> None:
    scan = classify(text)
    assert scan == FunctionScan(name)
    assert describe(scan) == shown


# --- junk ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("  \r\n", "empty"),
        ("\x00\x00", "empty"),
        ("]E0", "empty"),
        ("A" * 5000, "too_long"),
        ("%E?", "swipe_again"),
        (";E?", "swipe_again"),
        ("+E?", "swipe_again"),
        ("%E?;E?", "swipe_again"),
        ("%E?;E?+E?", "swipe_again"),
        (f";{MEMBER}", "swipe_again"),  # no end sentinel
        ("%E?;1234567890123452?", "swipe_again"),  # a failed track might have been ours
        (f"%{MEMBER}^A^?;9871000000000049?", "swipe_again"),  # two tracks, two numbers
        (";1234567890123452=2812?", "not_our_card"),
        (";9871000000000016=?", "card_check"),  # our prefix, wrong check digit
        ("9871000000000016", "card_check"),
        ("5901234123458", "check_digit"),
        ("]E05901234123458", "check_digit"),
        ("036000291453", "check_digit"),
        ("96385075", "check_digit"),
        ("]E401234566", "check_digit"),  # a UPC-E under ]E4 is read as an EAN-8
        ("]E40123456", "unknown"),  # ]E4 carries 8 digits
        ("]E001234566", "check_digit"),  # UPC-E with a wrong check digit
        ("]E112", "add_on"),
        ("]E212345", "add_on"),
        ("]C10109501101530004", "gs1"),  # AI 01 check digit wrong
        ("]C1hello", "gs1"),
        ("]C10210614141000415" + "3712", "gs1_no_gtin"),  # a logistic unit, not an item
        ("]C100106141412345678908", "gs1_no_gtin"),  # a pallet's SSCC
        ("(01)09501101530004", "gs1"),
        ("LCFN:PAY", "function"),
        ("123456789012345678", "unknown"),  # a long number is never a SKU
        ("1234567890123", "check_digit"),
        ("hello world", "unknown"),
        ("مرحبا", "unknown"),
        ("https://example.com/", "unknown"),
        ("]Q1{\"card\": 1}", "unknown"),
    ],
)
def test_junk_gets_a_clear_message_that_never_echoes_the_scan(text: str, reason: str) -> None:
    scan = classify(text)
    assert isinstance(scan, Junk)
    assert scan.reason == reason
    assert describe(scan) == scan.message
    assert not re.search(r"\d", scan.message)
    stripped = text.strip()
    assert len(stripped) < 3 or stripped not in scan.message


def test_typed_text_is_never_read_as_a_swipe() -> None:
    assert classify("+989121234567", typed=True).reason == "unknown"  # type: ignore[union-attr]
    assert classify("+989121234567").reason == "swipe_again"  # type: ignore[union-attr]


def test_a_runaway_line_of_digits_is_classified_in_linear_time() -> None:
    # A 4 KiB line with no terminator (a robustness case of the readers) must not stall the
    # till: the digit-run search was quadratic once (0.5 s for 4 KiB).
    started = time.perf_counter()
    for text in ("1" * 4096, "]C1" + "1" * 4093, "1 " * 2048):
        assert isinstance(classify(text), Junk)
    assert time.perf_counter() - started < 0.2


@pytest.mark.parametrize(
    ("text", "asks_to_swipe"),
    [("%E?", True), (";E?", True), ("+E?", True), ("5901234123458", False)],
)
def test_a_failed_swipe_asks_the_cashier_to_swipe_again(text: str, asks_to_swipe: bool) -> None:
    assert ("swipe it again" in describe(classify(text))) is asks_to_swipe


def test_describe_each_kind() -> None:
    assert describe(CouponScan(CODE, None)) == f"coupon {CODE[:4]}-{CODE[4:8]}-{CODE[8:]}"
    assert describe(CouponScan(None, "LC1.e30.c2ln")) == "coupon (signed QR code)"
    assert describe(ProductScan("05901234123457", None, "ean-13")) == "product 05901234123457"
    assert describe(ProductScan(None, "ABC-123", "code128")) == "product ABC-123"
