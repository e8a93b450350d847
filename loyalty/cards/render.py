"""Card images: a Code 128 barcode and a QR code, as SVG or PNG bytes.  Pure functions.

Both encode the bare card number, so any till scanner (1D or 2D) reads what a keyboard-wedge
reader would type.  Code 128 rather than EAN: our numbers are 16 digits, and Code 128's
double-density digit set keeps the bars short enough for a phone screen.  The QR code uses
error correction level M (15%), enough for a scratched screen protector.
"""

from __future__ import annotations

import io
from typing import Literal

import barcode
import qrcode
import qrcode.constants
from barcode.writer import ImageWriter, SVGWriter
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathFillImage

ImageFormat = Literal["svg", "png"]
MIME_TYPES: dict[str, str] = {"svg": "image/svg+xml", "png": "image/png"}

# Millimetres, as python-barcode measures; a 0.33 mm bar is the GS1 nominal width.
_BARCODE_OPTIONS = {"module_width": 0.33, "module_height": 15.0, "quiet_zone": 6.5,
                    "font_size": 10, "text_distance": 4.0}
_PNG_DPI = 200


def barcode_image(number: str, fmt: ImageFormat) -> bytes:
    """The card number as a Code 128 barcode with the number printed underneath."""
    writer = SVGWriter() if fmt == "svg" else ImageWriter(format="PNG", dpi=_PNG_DPI)
    out = io.BytesIO()
    barcode.Code128(number, writer=writer).write(out, options=_BARCODE_OPTIONS)
    return out.getvalue()


# On a phone's screen: 2 px modules exactly (0.4 mm at 127 dpi) and the 10-module quiet zone
# Code 128 asks, so a 16-digit card is about 310 px wide and shows at its own size, unscaled,
# on a 360 px screen; scaled bars blur into each other and scanners misread them.
_SCREEN_OPTIONS = {"module_width": 0.4, "module_height": 14.0, "quiet_zone": 4.0,
                   "font_size": 0, "write_text": False, "dpi": 127}


def screen_barcode_png(number: str) -> bytes:
    """The card number as a Code 128 barcode sized for a phone's screen (no text: the page
    prints the number beside it)."""
    out = io.BytesIO()
    options = {k: v for k, v in _SCREEN_OPTIONS.items() if k != "dpi"}
    barcode.Code128(number, writer=ImageWriter(format="PNG", dpi=_SCREEN_OPTIONS["dpi"])
                    ).write(out, options=options)
    return out.getvalue()


def qr_image(number: str, fmt: ImageFormat) -> bytes:
    """The card number as a QR code (4-module quiet zone, as the standard asks)."""
    factory = SvgPathFillImage if fmt == "svg" else PilImage
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10,
                         border=4, image_factory=factory)
    code.add_data(number)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out)
    return out.getvalue()
