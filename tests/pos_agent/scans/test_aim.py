"""AIM symbology identifiers: ISO/IEC 15424 and the GS1 General Specifications' table."""

import pytest

from pos_agent.symbologies.aim import Family, split_aim


@pytest.mark.parametrize(
    ("text", "family", "symbology", "data"),
    [
        # GS1 General Specifications figure 5.1.2-2 (from ISO/IEC 15424), GS1 symbologies:
        ("]E05901234123457", Family.EAN, "ean-13", "5901234123457"),
        ("]E3590123412345712", Family.EAN, "ean-13", "590123412345712"),
        ("]E496385074", Family.EAN8, "ean-8", "96385074"),
        ("]E112", Family.ADD_ON, "ean-2", "12"),
        ("]E212345", Family.ADD_ON, "ean-5", "12345"),
        ("]I110614141000415", Family.ITF14, "itf-14", "10614141000415"),
        ("]C10109501101530003", Family.GS1, "gs1-128", "0109501101530003"),
        ("]e00109501101530003", Family.GS1, "gs1-databar", "0109501101530003"),
        ("]d20109501101530003", Family.GS1, "gs1-datamatrix", "0109501101530003"),
        ("]Q30109501101530003", Family.GS1, "gs1-qr", "0109501101530003"),
        ("]J10109501101530003", Family.GS1, "gs1-dotcode", "0109501101530003"),
        # ISO/IEC 15424 table 1, other symbologies a till meets:
        ("]C0LCFN:TOTAL", Family.CODE128, "code128", "LCFN:TOTAL"),
        ("]C2ABC", Family.CODE128, "code128", "ABC"),
        ("]A0ABC-123", Family.CODE39, "code39", "ABC-123"),
        ("]Q19871000000000015", Family.QR, "qr", "9871000000000015"),
        ("]Q2LC1.a.b", Family.QR, "qr", "LC1.a.b"),
        ("]d1ABC", Family.DATAMATRIX, "datamatrix", "ABC"),
        ("]L2ABC", Family.OTHER, "pdf417", "ABC"),
        ("]z0ABC", Family.OTHER, "aztec", "ABC"),
        ("]F0A123B", Family.OTHER, "other", "A123B"),  # Codabar: known code, no special use
    ],
)
def test_the_identifier_is_stripped_and_names_the_parser(
    text: str, family: Family, symbology: str, data: str
) -> None:
    aim, rest = split_aim(text)
    assert aim is not None
    assert (aim.family, aim.symbology, rest) == (family, symbology, data)
    assert str(aim) + rest == text


@pytest.mark.parametrize(
    "text", ["5901234123457", "]", "]E", "]Y3ABC", "]?0ABC", "x]E05901234123457", ""]
)
def test_text_without_a_well_formed_identifier_is_left_alone(text: str) -> None:
    assert split_aim(text) == (None, text)
