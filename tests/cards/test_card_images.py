"""Card images: Code 128 and QR, SVG and PNG, that a scanner reads back as the card number."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from loyalty.cards.models import CardStatus
from loyalty.cards.render import barcode_image, qr_image
from tests.factories import make_member

NUMBER = "9871123412341238"
SVG = "{http://www.w3.org/2000/svg}"


def _decode(image: Image.Image) -> list[tuple[str, str]]:
    return [(r.text, r.format.name) for r in zxingcpp.read_barcodes(image)]


def _raster_barcode_svg(svg: bytes) -> Image.Image:
    """Draw python-barcode's SVG bars (rects in mm) into a bitmap a decoder can read."""
    root = ET.fromstring(svg)
    scale = 10  # pixels per mm
    width = float(root.get("width").removesuffix("mm"))
    image = Image.new("L", (int(width * scale) + 1, 200), 255)
    draw = ImageDraw.Draw(image)
    for rect in root.iter(f"{SVG}rect"):
        if "black" not in rect.get("style", ""):
            continue
        x = float(rect.get("x").removesuffix("mm")) * scale
        w = float(rect.get("width").removesuffix("mm")) * scale
        draw.rectangle([round(x), 20, round(x + w) - 1, 180], fill=0)
    return image


def _raster_qr_svg(svg: bytes) -> Image.Image:
    """Draw the QR SVG path's unit squares ("Mx,yHx+1Vy+1Hxz") into a bitmap."""
    root = ET.fromstring(svg)
    size = int(root.get("viewBox").split()[2])
    scale = 8
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    path = next(p for p in root.iter(f"{SVG}path") if "M" in p.get("d", ""))
    for x, y in re.findall(r"M(\d+),(\d+)", path.get("d")):
        x0, y0 = int(x) * scale, int(y) * scale
        draw.rectangle([x0, y0, x0 + scale - 1, y0 + scale - 1], fill=0)
    return image


def test_barcode_png_and_svg_read_back_as_the_number():
    assert _decode(Image.open(io.BytesIO(barcode_image(NUMBER, "png")))) == \
        [(NUMBER, "Code128")]
    svg = barcode_image(NUMBER, "svg")
    assert ET.fromstring(svg).tag == f"{SVG}svg" and NUMBER.encode() in svg
    assert _decode(_raster_barcode_svg(svg)) == [(NUMBER, "Code128")]


def test_qr_png_and_svg_read_back_as_the_number():
    assert _decode(Image.open(io.BytesIO(qr_image(NUMBER, "png")))) == [(NUMBER, "QRCode")]
    svg = qr_image(NUMBER, "svg")
    assert ET.fromstring(svg).tag == f"{SVG}svg"
    assert _decode(_raster_qr_svg(svg)) == [(NUMBER, "QRCode")]


@pytest.mark.parametrize(("kind", "fmt", "mime", "symbology"), [
    ("barcode", "png", "image/png", "Code128"),
    ("qr", "png", "image/png", "QRCode"),
    ("barcode", "svg", "image/svg+xml", None),
    ("qr", "svg", "image/svg+xml", None),
])
def test_card_image_endpoints(client, db, desk, settings, kind, fmt, mime, symbology):
    _member, card = make_member(db, settings)
    db.commit()
    resp = client.get(f"/api/v1/cards/{card.number}/{kind}.{fmt}", headers=desk("cashier"))
    assert resp.status_code == 200 and resp.mimetype == mime
    assert "private" in resp.headers["Cache-Control"]
    if symbology:
        assert _decode(Image.open(io.BytesIO(resp.data))) == [(card.number, symbology)]
    else:
        assert ET.fromstring(resp.data).tag == f"{SVG}svg"


def test_card_images_refused_for_blocked_cards_and_other_roles(client, db, desk, settings):
    _member, card = make_member(db, settings)
    card.status = CardStatus.BLOCKED
    db.commit()
    blocked = client.get(f"/api/v1/cards/{card.number}/qr.svg", headers=desk("cashier"))
    assert blocked.status_code == 403 and blocked.json["code"] == "card_blocked"
    assert client.get(f"/api/v1/cards/{card.number}/qr.gif",
                      headers=desk("cashier")).status_code == 404
    assert client.get(f"/api/v1/cards/{card.number}/qr.svg",
                      headers=desk("marketer")).status_code == 403
