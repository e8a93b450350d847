"""GS1 element strings: AIs, FNC1 as GS, check digits (GS1 General Specifications)."""

import pytest

from pos_agent.symbologies.gs1 import parse_digital_link, parse_element_string, parse_hri

GS = "\x1d"


@pytest.mark.parametrize(
    ("text", "ai"),
    [
        # GS1 General Specifications 2.1 example: (01)09501101530003(17)140704(10)AB-123.
        ("01095011015300031714070410AB-123",
         {"01": "09501101530003", "17": "140704", "10": "AB-123"}),
        # GS1 General Specifications 2.2.1 example SSCC: (00)106141412345678908.
        ("00106141412345678908", {"00": "106141412345678908"}),
        # FNC1 in first position sent as a leading GS by some scanners.
        (GS + "0109501101530003", {"01": "09501101530003"}),
        # A logistic unit: content GTIN (02) and count (37, variable: ends with FNC1).
        ("0209501101530003" + "3712" + GS + "17250101",
         {"02": "09501101530003", "37": "12", "17": "250101"}),
        # Net weight 310x (3 decimals), price 392x, price with ISO 4217 currency 393x, serial
        # 21 and count 30, variable-length ones ended by GS.
        ("0109501101530003" + "3103000250" + "39221299" + GS + "39329781250" + GS
         + "21SER123" + GS + "305",
         {"01": "09501101530003", "3103": "000250", "3922": "1299", "3932": "9781250",
          "21": "SER123", "30": "5"}),
        # Dates: production 11, packaging 13, best before 15, expiry 17.
        ("0109501101530003" + "11240101" + "13240115" + "15241231" + "17241231"
         + "10LOT" + GS + "21X",
         {"01": "09501101530003", "11": "240101", "13": "240115", "15": "241231",
          "17": "241231", "10": "LOT", "21": "X"}),
        # The same AI twice with the same data is allowed (GS1 GenSpecs 4.14).
        ("0109501101530003" + "10A" + GS + "10A", {"01": "09501101530003", "10": "A"}),
    ],
)
def test_element_strings_give_their_ais(text: str, ai: dict[str, str]) -> None:
    assert parse_element_string(text) == ai


@pytest.mark.parametrize(
    "text",
    [
        "0109501101530004",  # AI 01 with a wrong GTIN check digit
        "00106141412345678909",  # AI 00 with a wrong SSCC check digit
        "010950110153000317241301",  # month 13
        "0109501101530003" + "10A" + GS + "10B",  # one AI, two values
        "01095011015300",  # AI 01 cut short
        "0109501101530003" + "10" + "A" * 21,  # batch longer than 20, no FNC1
        "hello",
        "٠١٠٩٥٠١١٠١٥٣٠٠٠٣",  # Arabic-Indic digits are folded by the caller, not here
        "",
    ],
)
def test_a_misread_or_foreign_string_is_refused_whole(text: str) -> None:
    assert parse_element_string(text) is None


def test_the_human_readable_form_reads_the_same() -> None:
    assert parse_hri("(01)09501101530003(17)140704(10)AB-123") == {
        "01": "09501101530003", "17": "140704", "10": "AB-123"}
    assert parse_hri("(01)09501101530004") is None
    assert parse_hri("01095011015300031") is None


def test_a_gs1_digital_link_uri_reads_as_its_ais() -> None:
    # GS1 Digital Link standard 1.1, example URI form https://id.gs1.org/01/{gtin}/10/{lot}.
    assert parse_digital_link("https://id.gs1.org/01/09501101530003/10/AB-123?17=140704") == {
        "01": "09501101530003", "10": "AB-123", "17": "140704"}
    assert parse_digital_link("https://example.com/shop") is None
    assert parse_digital_link("ftp://id.gs1.org/01/09501101530003") is None
