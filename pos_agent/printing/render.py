"""Send a slip's blocks to an ESC/POS printer, or draw them as a preview image.

On the printer, English rows go as text in the printer's own font.  Arabic and Persian rows go as
text only when the printer has an Arabic code page that holds every shaped letter (CP864 holds the
presentation forms); otherwise, the usual case, consecutive rows become one raster image
(``GS v 0``) the width of the paper.  The preview draws every row as raster, so an Arabic preview
is exactly what the printer gets.
"""

from __future__ import annotations

import textwrap
import unicodedata
from collections.abc import Iterator, Sequence

from escpos.escpos import Escpos
from PIL import Image

from .config import PAPER_DOTS, PrinterConfig, know_paper_width
from .labels import is_rtl
from .raster import barcode_image, has_rtl, qr_image, rows_image, shape
from .slip import Barcode128, Block, QrCode, Row, Rule, Slip, layout_slip

TextBlock = Row | Rule


def render_slip(printer: Escpos, slip: Slip, cfg: PrinterConfig | None = None) -> None:
    """Print ``slip``: initialise (ESC @), the blocks, feed and cut (GS V).

    ``cfg`` gives the paper width and code page; without it, the printer profile's width (or
    384 dots, which fits every paper) and no Arabic code page.
    """
    cfg = cfg or PrinterConfig(paper_dots=_profile_width(printer))
    rtl = is_rtl(slip.language)
    if _profile_pixels(printer) != cfg.paper_dots:
        know_paper_width(printer, cfg.paper_dots)
    printer.hw("INIT")
    for run in _runs(layout_slip(slip)):
        if isinstance(run, QrCode):
            _print_qr(printer, run.payload, cfg)
        elif isinstance(run, Barcode128):
            printer.image(barcode_image(run.code, cfg.paper_dots))
            printer.ln()
        else:
            _print_text_rows(printer, run, cfg, rtl)
    printer.cut()


def render_preview(slip: Slip, paper_dots: int = 576) -> Image.Image:
    """The slip as one image ``paper_dots`` wide, as a thermal printer would draw it."""
    rtl = is_rtl(slip.language)
    parts: list[Image.Image] = []
    for run in _runs(layout_slip(slip)):
        if isinstance(run, QrCode):
            parts.append(qr_image(run.payload, paper_dots))
        elif isinstance(run, Barcode128):
            parts.append(barcode_image(run.code, paper_dots))
        else:
            parts.append(rows_image(run, paper_dots, rtl=rtl))
    pad = 16
    sheet = Image.new("1", (paper_dots, sum(p.height for p in parts) + 2 * pad), 1)
    y = pad
    for part in parts:
        sheet.paste(part, (0, y))
        y += part.height
    return sheet


def _runs(blocks: Sequence[Block]) -> Iterator[Sequence[TextBlock] | QrCode | Barcode128]:
    """Consecutive text rows together (one raster image each), codes on their own."""
    run: list[TextBlock] = []
    for block in blocks:
        if isinstance(block, Row | Rule):
            run.append(block)
            continue
        if run:
            yield run
            run = []
        yield block
    if run:
        yield run


def _print_qr(printer: Escpos, payload: str, cfg: PrinterConfig) -> None:
    if cfg.native_qr:  # GS ( k: the printer draws it, sharper and fewer bytes
        printer.set(align="center")
        printer.qr(payload, native=True, size=5, ec=1)  # ec 1 = level M, as in the raster
        printer.set(align="left")
    else:
        printer.image(qr_image(payload, cfg.paper_dots))
    printer.ln()


def _print_text_rows(
    printer: Escpos, rows: Sequence[TextBlock], cfg: PrinterConfig, rtl: bool
) -> None:
    raster: list[TextBlock] = []
    for row in rows:
        line = _as_text(row, cfg, rtl)
        if line is None:
            raster.append(row)
            continue
        if raster:
            printer.image(rows_image(raster, cfg.paper_dots, rtl=rtl))
            raster = []
        _emit_text(printer, row, line, cfg)
    if raster:
        printer.image(rows_image(raster, cfg.paper_dots, rtl=rtl))


def _as_text(row: TextBlock, cfg: PrinterConfig, rtl: bool) -> list[str] | None:
    """The printer-font lines for ``row``, or None when it must go as raster."""
    if isinstance(row, Rule):
        return None if rtl and not cfg.has_arabic_codepage else ["-" * cfg.columns]
    columns = cfg.columns // 2 if row.big else cfg.columns
    if not rtl:
        if has_rtl(row.start + row.end):
            return None
        return _fit(row.start, row.end, columns, row.center)
    codec = cfg.arabic_codec
    if codec is None:
        return None
    start = _in_codepage(shape(row.start, rtl=True), codec)
    end = _in_codepage(shape(row.end, rtl=True), codec)
    if start is None or end is None:
        return None  # a letter the code page lacks (Persian پ چ ژ گ in CP864)
    if len(start) + len(end) + 1 > columns:
        return None  # wrapping shaped, reversed text by characters would scramble it
    return [start.center(columns) if row.center else end + start.rjust(columns - len(end))]


def _in_codepage(text: str, codec: str) -> str | None:
    """``text`` with each letter form the code page lacks replaced by the form it prints with
    (CP864 draws a medial letter with its initial glyph, a final one with its isolated glyph);
    None if some character has no stand-in."""
    out = []
    for char in text:
        for candidate in (char, _stand_in(char)):
            try:
                candidate.encode(codec)
            except UnicodeEncodeError:
                continue
            out.append(candidate)
            break
        else:
            return None
    return "".join(out)


def _stand_in(char: str) -> str:
    name = unicodedata.name(char, "")
    for form, instead in ((" MEDIAL FORM", " INITIAL FORM"), (" FINAL FORM", " ISOLATED FORM")):
        if name.endswith(form):
            try:
                return unicodedata.lookup(name.removesuffix(form) + instead)
            except KeyError:
                return char
    return char


def _fit(start: str, end: str, columns: int, center: bool) -> list[str]:
    """Left-to-right text lines: ``start`` wrapped, ``end`` right-aligned on the last line."""
    lines = textwrap.wrap(start, columns) or [""]
    if center:
        return [line.center(columns).rstrip() for line in lines]
    if end:
        if len(lines[-1]) + 1 + len(end) <= columns:
            lines[-1] = lines[-1] + end.rjust(columns - len(lines[-1]))
        else:
            lines.append(end.rjust(columns))
    return lines


def _emit_text(printer: Escpos, row: TextBlock, lines: list[str], cfg: PrinterConfig) -> None:
    styled = isinstance(row, Row) and (row.bold or row.big)
    if styled:
        assert isinstance(row, Row)
        printer.set(bold=row.bold, double_width=row.big, double_height=row.big)
    rtl_text = cfg.has_arabic_codepage and any(has_rtl(line) for line in lines)
    if rtl_text:
        printer.charcode(cfg.codepage or "AUTO")
    for line in lines:
        printer.textln(line)
    if rtl_text:
        printer.charcode("AUTO")
    if styled:
        printer.set(bold=False, normal_textsize=True)


def _profile_pixels(printer: Escpos) -> object:
    return printer.profile.profile_data.get("media", {}).get("width", {}).get("pixels")


def _profile_width(printer: Escpos) -> int:
    pixels = _profile_pixels(printer)
    return pixels if isinstance(pixels, int) and pixels in PAPER_DOTS else 384
