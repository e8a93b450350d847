"""The bytes a slip sends to the printer (python-escpos Dummy), read back command by command."""

from __future__ import annotations

import dataclasses

import pytest
import zxingcpp
from escpos.printer import Dummy

from pos_agent.printer import (
    CATALOGUE,
    PrinterConfig,
    SlipCoupon,
    Store,
    render_preview,
    render_slip,
    shape,
)
from tests.pos_agent.printing.escpos_bytes import rasters, stack, without_rasters
from tests.pos_agent.printing.slips import BAR_CODE, CARD, QR_CODE, SIGNED, make_slip

INIT, CUT = b"\x1b@", b"\x1bd\x06\x1dV\x00"  # ESC @; ESC d 6 (feed) then GS V 0 (full cut)


def printed(slip, **cfg) -> bytes:  # noqa: ANN001
    printer = Dummy()
    render_slip(printer, slip, PrinterConfig(**cfg))
    return printer.output


def decoded(images) -> dict[str, str]:  # noqa: ANN001
    """What a scanner reads off the paper: {format name: text}."""
    found = zxingcpp.read_barcodes(stack(images))
    return {str(code.format).replace(" ", ""): code.text for code in found}


def test_english_slip_is_text_with_the_figures_right_aligned() -> None:
    out = printed(make_slip("en"), paper_dots=576)  # 48 columns of font A
    assert out.startswith(INIT) and out.endswith(CUT)
    for line in [b"Till" + b" " * 40 + b"T-03",
                 b"Date" + b" " * 28 + b"2026-11-23 06:30",  # 02:30 UTC is 06:30 in Dubai
                 b"2 x Milk 1L" + b" " * 28 + b"12.50 AED",
                 b"Coupon discount" + b" " * 24 + b"-3.00 AED",
                 b"Points earned" + b" " * 33 + b"13\n",
                 b"Points redeemed" + b" " * 30 + b"500\n",
                 b"\x1bE\x01Points balance" + b" " * 29 + b"1,240\n",  # bold: ESC E 1
                 b"\x1bE\x01Total" + b" " * 34 + b"13.49 AED\n"]:
        assert line in out
    # The mask's bullets go out in CP1252 (ESC t 16, bullet = 0x95), the digits as ASCII.
    assert b"Card" + b" " * 25 + b"9871 \x1bt\x10\x95\x95\x95\x95 \x95\x95\x95\x95 1237\n" in out


def test_the_store_heads_the_slip_with_its_address_when_it_has_one() -> None:
    out = printed(make_slip("en", coupons=False), paper_dots=384)  # 32 columns; 16 when big
    assert out.index(b" Al Noor Market\n") < out.index(b"     Sheikh Zayed Rd, Dubai\n")
    assert b"\x1b!0\x1bE\x01" in out[: out.index(b"Al Noor")]  # double size (ESC ! 0x30), bold
    bare = printed(make_slip("en", coupons=False, store=Store("Al Noor", "Asia/Dubai")),
                   paper_dots=384)
    assert b"Sheikh" not in bare and b"Al Noor" in bare
    with pytest.raises(ValueError, match="unknown time zone"):
        make_slip("en", store=Store("Al Noor", "Mars/Olympus"))


def test_without_a_config_the_slip_fits_58_mm_paper() -> None:
    printer = Dummy()
    render_slip(printer, make_slip("ar"))
    assert {r.width_bytes for r in rasters(printer.output)} == {384 // 8}


def test_the_full_card_number_is_never_sent() -> None:
    for language in ("en", "ar", "fa"):
        out = printed(make_slip(language), paper_dots=384)
        assert CARD.encode() not in out and CARD[4:12].encode() not in out
        assert b"9871 0000 4242 1237" not in out


def test_coupons_print_as_a_qr_of_the_signed_payload_or_a_code_128_of_the_code() -> None:
    out = printed(make_slip("en"), paper_dots=576)
    images = rasters(out)
    assert [r.width_bytes for r in images] == [72, 72]  # GS v 0, 576 dots = 72 bytes a row
    assert decoded([r.image for r in images]) == {"QRCode": SIGNED, "Code128": BAR_CODE}
    text = without_rasters(out)
    assert b"7KQ2-M9XD-4RWV" in text and b"8ABC-DEFG-HJKJ" in text  # display form, above each
    assert text.index(b"7KQ2-M9XD-4RWV") < images[0].start


def test_native_qr_sends_gs_k_with_the_payload() -> None:
    out = printed(make_slip("en"), paper_dots=576, native_qr=True)
    data = b"0" + SIGNED.encode()
    size = len(data) + 2
    store = b"\x1d(k" + bytes([size & 0xFF, size >> 8]) + b"1P" + data  # fn 80: store the data
    assert b"\x1d(k\x04\x001A2\x00" in out  # fn 65: model 2
    assert b"\x1d(k\x03\x001E1" in out  # fn 69: error correction M
    assert store in out and b"\x1d(k\x03\x001Q0" in out  # fn 81: print
    assert out.index(store) < out.index(b"\x1d(k\x03\x001Q0")
    assert len(rasters(out)) == 1  # only the Code 128 is a raster now


def test_money_uses_the_currency_exponent() -> None:
    kwd = printed(make_slip("en", currency="KWD", coupons=False), paper_dots=576)
    assert b"1.250 KWD" in kwd and b"1.349 KWD" in kwd and b"2.149 KWD" in kwd
    aed = printed(make_slip("en", coupons=False), paper_dots=576)
    assert b"12.50 AED" in aed and b"13.49 AED" in aed


def test_a_sale_without_a_member_prints_no_points() -> None:
    out = printed(make_slip("en", masked_card=None, coupons=False), paper_dots=384)
    assert b"Points" not in out and b"Card" not in out and b"Total" in out
    assert rasters(out) == []


def test_an_offline_sale_says_points_are_confirmed_later() -> None:
    out = printed(make_slip("en", balance=None, offline=True), paper_dots=576)
    assert b"Offline sale: points confirmed on sync" in out
    assert b"Points balance" not in out


@pytest.mark.parametrize(("language", "dots"), [("ar", 384), ("fa", 384), ("ar", 576)])
def test_arabic_and_persian_go_as_raster_never_as_encoded_text(language: str, dots: int) -> None:
    slip = make_slip(language)
    out = printed(slip, paper_dots=dots)
    assert out.startswith(INIT) and out.endswith(CUT)
    images = rasters(out)
    assert images and {r.width_bytes for r in images} == {dots // 8}
    text = without_rasters(out)
    assert all(byte < 0x80 for byte in text), "text bytes outside ASCII: encoded Arabic"
    assert b"\x1bt" not in text.replace(b"\x1bt\x00", b"")  # only CP437, for the line feeds
    for entry in CATALOGUE.values():
        words = entry[language].replace("{qty} × {name}", "×")
        for encoded in _encodings(words):
            assert encoded not in out
    assert decoded([r.image for r in images]) == {"QRCode": SIGNED, "Code128": BAR_CODE}


def _encodings(words: str) -> list[bytes]:
    forms = [words.encode("utf-8"), shape(words, rtl=True).encode("utf-8")]
    for codec in ("cp1256", "cp864", "cp720"):
        for text in (words, shape(words, rtl=True)):
            try:
                forms.append(text.encode(codec))
            except UnicodeEncodeError:
                pass
    return [f for f in forms if len(f) >= 4]


@pytest.mark.parametrize("language", ["en", "ar", "fa"])
def test_the_preview_is_what_the_raster_printer_gets(language: str) -> None:
    """With every row drawn as raster (Arabic/Persian), the printed images stacked are the
    preview; so a back-office print preview shows the paper as it will come out."""
    slip = make_slip(language)
    preview = render_preview(slip, 384)
    if language == "en":  # English rows are printer text; compare the codes only
        assert decoded([preview]) == {"QRCode": SIGNED, "Code128": BAR_CODE}
        return
    images = [r.image for r in rasters(printed(slip, paper_dots=384))]
    paper = stack(images).convert("1")
    assert paper.size == (preview.width, preview.height + 8)
    assert paper.crop((0, 20, 384, 20 + sum(i.height for i in images))).tobytes() == (
        preview.crop((0, 16, 384, preview.height - 16)).tobytes()
    )


def test_with_an_arabic_code_page_shaped_arabic_goes_as_cp864_text() -> None:
    out = printed(make_slip("ar", coupons=False), paper_dots=576, codepage="CP864")
    # CP864 has no medial/final glyphs for most letters: those print with initial/isolated ones.
    balance = shape("رصيد النقاط", rtl=True).translate({0xFED8: 0xFED7, 0xFEE8: 0xFEE7,
                                                        0xFEAA: 0xFEA9, 0xFEF4: 0xFEF3})
    balance = balance.encode("cp864")
    assert b"\x1bt%" in out  # ESC t 37: CP864 on this profile
    assert b"\x1bE\x011,240" + b" " * 32 + balance + b"\n" in out  # amount left, label right
    assert "رصيد".encode() not in out


def test_persian_letters_missing_from_the_code_page_fall_back_to_raster() -> None:
    slip = make_slip("fa", coupons=False)
    out = printed(slip, paper_dots=576, codepage="CP864")
    assert rasters(out), "Persian پ چ ژ گ are not in CP864: those rows must be raster"
    assert "پرداخت".encode() not in out


def test_an_arabic_store_name_on_an_english_slip_is_the_only_raster_row() -> None:
    slip = make_slip("en", coupons=False, store=Store("سوق النور", "Asia/Dubai"))
    out = printed(slip, paper_dots=576)
    images = rasters(out)
    assert len(images) == 1 and images[0].width_bytes == 72
    assert out.index(b"Till") > images[0].end  # the name heads the slip, the rest is text
    assert "النور".encode() not in out


def test_a_coupon_without_a_payload_prints_a_code_128_of_its_code() -> None:
    slip = dataclasses.replace(make_slip("en"), coupons=[SlipCoupon(QR_CODE)])
    images = rasters(printed(slip, paper_dots=384))
    assert decoded([r.image for r in images]) == {"Code128": QR_CODE}
