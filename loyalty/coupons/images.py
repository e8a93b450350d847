"""Coupon images: a Code 128 barcode of the code, a QR code of the signed payload.

Code 128 because it carries letters and digits densely and every till scanner reads it; the
QR code holds the signed payload (loyalty.coupons.signing) so a till can verify it offline.
Both come in SVG (screens, print at any size) and PNG (e-mail, slips).
"""

from __future__ import annotations

import io
from typing import Literal

import barcode
import qrcode
import qrcode.constants
import qrcode.image.svg
from barcode.writer import ImageWriter, SVGWriter

ImageFormat = Literal["svg", "png"]
MEDIA_TYPES: dict[str, str] = {"svg": "image/svg+xml", "png": "image/png"}


def barcode_image(code: str, fmt: ImageFormat, caption: str | None = None) -> bytes:
    """Code 128 of ``code`` with ``caption`` (the grouped code) printed under the bars."""
    writer = SVGWriter() if fmt == "svg" else ImageWriter(format="PNG")
    symbol = barcode.get("code128", code, writer=writer)
    buf = io.BytesIO()
    symbol.write(buf, text=caption)
    return buf.getvalue()


def qr_image(payload: str, fmt: ImageFormat) -> bytes:
    """QR code of ``payload``, error correction M (a phone screen may be scratched or dim)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(payload)
    qr.make(fit=True)
    if fmt == "svg":
        return qr.make_image(image_factory=qrcode.image.svg.SvgPathImage).to_string()
    buf = io.BytesIO()
    qr.make_image().save(buf)
    return buf.getvalue()
