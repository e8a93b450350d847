"""Slip parts drawn as 1-bit images: text rows (any script), rules, QR codes and Code 128.

Arabic and Persian go through three steps, because a thermal printer neither shapes nor
reorders: ``arabic_reshaper`` picks each letter's joined form (presentation forms, U+FB50-U+FDFF
and U+FE70-U+FEFF), ``python-bidi`` puts the letters in visual (left-to-right) order, and Pillow
draws that string glyph by glyph with its BASIC layout (its raqm layout would shape and reorder a
second time).  The font is Noto Sans Arabic, which also has Latin letters and Western digits, so
codes, amounts and masked card numbers in an Arabic slip share one font.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from importlib.resources import files

import qrcode
from arabic_reshaper import ArabicReshaper
from barcode import Code128
from bidi import get_display
from PIL import Image, ImageDraw, ImageFont

from .slip import Row, Rule

FONT_FILE = "NotoSansArabic[wdth,wght].ttf"
NORMAL_SIZE, BIG_SIZE = 24, 34  # dots; 24 is the height of the printer's own font A
MARGIN = 8
BLACK, WHITE = 0, 255
_RTL_CHARS = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")

# "Arabic" is the reshaper's full letter table: it has the isolated, initial, medial and final
# forms of the Persian letters پ چ ژ گ ی too (the V2 and Kurdish tables leave some unshaped).
# Harakat are dropped: the fonts place them badly once the string is reversed.
_RESHAPER = ArabicReshaper(
    configuration={"language": "Arabic", "delete_harakat": True, "support_ligatures": True}
)


def has_rtl(text: str) -> bool:
    return bool(_RTL_CHARS.search(text))


def shape(text: str, *, rtl: bool) -> str:
    """``text`` in visual order with joined letter forms, ready to draw left to right."""
    if not has_rtl(text):
        return text
    return get_display(_RESHAPER.reshape(text), base_dir="R" if rtl else "L")


@lru_cache(maxsize=8)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    path = files("fontpkg_noto_sans_arabic").joinpath("files", FONT_FILE)
    face = ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)
    face.set_variation_by_axes([700 if bold else 400, 100])  # axes: weight, width
    return face


def _row_font(row: Row) -> ImageFont.FreeTypeFont:
    return font(BIG_SIZE if row.big else NORMAL_SIZE, row.bold)


def _line_height(face: ImageFont.FreeTypeFont) -> int:
    """1.5 em: the font's own ascent + descent (2.1 em, room for stacked marks we never print)
    would make a raster slip 40 % longer, and slower down a serial line."""
    return round(face.size * 1.5)


def _baseline(face: ImageFont.FreeTypeFont) -> int:
    return round(face.size * 0.95)  # ink spans about -0.9 .. +0.5 em around it


def _wrap(text: str, face: ImageFont.FreeTypeFont, room: int, rtl: bool) -> list[str]:
    """Greedy word wrap of the logical text so each shaped line fits ``room`` dots."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and face.getlength(shape(candidate, rtl=rtl)) <= room:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines or [""]


def rows_image(rows: Sequence[Row | Rule], width: int, *, rtl: bool) -> Image.Image:
    """Text rows as one black-on-white image ``width`` dots wide (the paper's width)."""
    ops: list[tuple[str, ImageFont.FreeTypeFont, int, int]] = []  # (text, font, x, y)
    rules: list[int] = []
    y = 0
    for row in rows:
        if isinstance(row, Rule):
            rules.append(y + 6)
            y += 14
            continue
        face = _row_font(row)
        end = shape(row.end, rtl=rtl)
        end_w = int(face.getlength(end)) + 12 if row.end else 0
        lines = _wrap(row.start, face, width - 2 * MARGIN - end_w, rtl)
        for i, logical in enumerate(lines):
            text = shape(logical, rtl=rtl)
            w = int(face.getlength(text))
            if row.center:
                x = (width - w) // 2
            else:
                x = width - MARGIN - w if rtl else MARGIN
            ops.append((text, face, x, y))
            if row.end and i == len(lines) - 1:
                end_x = MARGIN if rtl else width - MARGIN - int(face.getlength(end))
                ops.append((end, face, end_x, y))
            y += _line_height(face)
    image = Image.new("L", (width, max(y, 1)), WHITE)
    draw = ImageDraw.Draw(image)
    for text, face, x, top in ops:
        draw.text((x, top + _baseline(face)), text, font=face, fill=BLACK, anchor="ls")
    for rule_y in rules:
        draw.line((MARGIN, rule_y, width - MARGIN, rule_y), fill=BLACK, width=2)
    return to_bilevel(image)


def qr_image(payload: str, width: int) -> Image.Image:
    """The QR code of ``payload``, centred on a ``width``-dot canvas, at most 60 % as wide."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(payload)
    code.make(fit=True)
    modules = code.modules_count + 2 * code.border
    box = max(2, min(8, int(width * 0.6) // modules))
    code.box_size = box
    return _centred(code.make_image().get_image().convert("L"), width)


def barcode_image(code: str, width: int, height: int = 80) -> Image.Image:
    """Code 128 of ``code`` (python-barcode picks the code sets), centred, with quiet zones."""
    bars = Code128(code).build()[0]
    module = max(1, min(3, (width - 2 * MARGIN) // (len(bars) + 20)))
    image = Image.new("L", ((len(bars) + 20) * module, height), WHITE)
    draw = ImageDraw.Draw(image)
    for i, bar in enumerate(bars):
        if bar == "1":
            x = (i + 10) * module
            draw.rectangle((x, 0, x + module - 1, height - 1), fill=BLACK)
    return _centred(image, width)


def _centred(image: Image.Image, width: int) -> Image.Image:
    if image.width > width:
        raise ValueError(f"a {image.width}-dot image does not fit {width}-dot paper")
    canvas = Image.new("L", (width, image.height), WHITE)
    canvas.paste(image, ((width - image.width) // 2, 0))
    return to_bilevel(canvas)


def to_bilevel(image: Image.Image) -> Image.Image:
    """Threshold (not dither) to 1 bit: anti-aliased glyph edges stay crisp on thermal paper."""
    return image.convert("L").point(lambda v: WHITE if v >= 128 else BLACK, mode="1")
