"""GTIN check digits and the catalog key, with the GS1 General Specifications' own numbers."""

import pytest

from pos_agent.symbologies.gtin import check_digit, expand_upc_e, gtin14, is_valid_gtin


@pytest.mark.parametrize(
    ("payload", "digit"),
    [
        # GS1 General Specifications 7.9.1, worked example for a GTIN-13.
        ("629104150021", "3"),
        # GS1 General Specifications 7.9.1, worked example for an SSCC (18 digits).
        ("37610425002123456", "9"),
        # GS1 General Specifications 2.1: the example GTIN (01) 09501101530003.
        ("0950110153000", "3"),
        # ISO/IEC 15420 (EAN/UPC) example symbol 5 901234 123457.
        ("590123412345", "7"),
        # GS1 General Specifications: the EAN-8 example 9638 5074.
        ("9638507", "4"),
        # UPC-A example 0 36000 29145 2 (Wikipedia, "Universal Product Code").
        ("03600029145", "2"),
    ],
)
def test_check_digit_matches_the_published_examples(payload: str, digit: str) -> None:
    assert check_digit(payload) == digit


@pytest.mark.parametrize(
    ("digits", "key"),
    [
        ("96385074", "00000096385074"),  # EAN-8
        ("036000291452", "00036000291452"),  # UPC-A
        ("0036000291452", "00036000291452"),  # the same UPC-A as EAN-13 (]E0 sends 13)
        ("00036000291452", "00036000291452"),  # and as AI (01) carries it
        ("5901234123457", "05901234123457"),  # EAN-13
        ("09501101530003", "09501101530003"),  # GTIN-14
        ("10614141000415", "10614141000415"),  # GTIN-14 with indicator digit 1
    ],
)
def test_every_form_of_a_gtin_keys_the_catalog_as_gtin_14(digits: str, key: str) -> None:
    assert gtin14(digits) == key


@pytest.mark.parametrize(
    "digits",
    [
        "5901234123458",  # one digit off
        "5901234213457",  # two neighbours swapped
        "036000291453",
        "96385075",
        "1234567",  # no GTIN has 7 digits
        "590123412345",  # 12 digits that are not a UPC-A
        "٥٩٠١٢٣٤١٢٣٤٥٧",  # Arabic-Indic digits: the caller folds them first
        "5901234l23457",
        "",
    ],
)
def test_a_wrong_check_digit_or_length_is_no_gtin(digits: str) -> None:
    assert not is_valid_gtin(digits)
    assert gtin14(digits) is None


@pytest.mark.parametrize(
    ("upc_e", "upc_a"),
    [
        # Zero suppression, GS1 General Specifications 5.2.2.4.2, one row per rule (the
        # first is the "Universal Product Code" article's example; all agree with biip).
        ("01234565", "012345000065"),  # last digit 5-9: manufacturer ends before it
        ("01234531", "012300000451"),  # 3
        ("01234543", "012340000053"),  # 4
        ("01234505", "012000003455"),  # 0-2: the digit is the third of the prefix
    ],
)
def test_upc_e_expands_to_its_upc_a(upc_e: str, upc_a: str) -> None:
    assert expand_upc_e(upc_e) == upc_a


@pytest.mark.parametrize("upc_e", ["01234566", "21234565", "0123456", "0123456x"])
def test_upc_e_with_a_wrong_check_digit_or_number_system_does_not_expand(upc_e: str) -> None:
    assert expand_upc_e(upc_e) is None
