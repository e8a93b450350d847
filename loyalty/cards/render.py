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
from PIL import Image, ImageDraw
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


# On a phone's screen: every module exactly 2 px and the 10-module quiet zone Code 128 asks,
# drawn module by module (python-barcode's writer places bars at millimetre positions rounded
# to pixels, so at screen resolutions some bars come out a pixel wide or narrow and about one
# card in eight did not scan).  A 16-digit card is about 290 px wide: it shows unscaled on a
# 360 px screen, since scaled bars blur into each other.
_SCREEN_MODULE_PX = 2
_SCREEN_QUIET_MODULES = 10
_SCREEN_HEIGHT_PX = 72


def screen_barcode_png(number: str) -> bytes:
    """The card number as a Code 128 barcode sized for a phone's screen (no text: the page
    prints the number beside it)."""
    modules = barcode.Code128(number).build()[0]  # "1101..." one character per module
    quiet = _SCREEN_QUIET_MODULES * _SCREEN_MODULE_PX
    image = Image.new("1", (len(modules) * _SCREEN_MODULE_PX + 2 * quiet, _SCREEN_HEIGHT_PX), 1)
    draw = ImageDraw.Draw(image)
    for i, module in enumerate(modules):
        if module == "1":
            x = quiet + i * _SCREEN_MODULE_PX
            draw.rectangle((x, 0, x + _SCREEN_MODULE_PX - 1, _SCREEN_HEIGHT_PX - 1), fill=0)
    out = io.BytesIO()
    image.save(out, format="PNG")
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
