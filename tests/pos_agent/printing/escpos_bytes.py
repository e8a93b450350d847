"""Reading ESC/POS output back, for tests: raster images (GS v 0) and what is around them."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

GS_V0 = b"\x1dv0"


@dataclass(frozen=True)
class Raster:
    width_bytes: int
    height: int
    image: Image.Image  # printed dots black on white
    start: int
    end: int


def rasters(data: bytes) -> list[Raster]:
    """Every GS v 0 image in ``data``, parsed in order (each header's sizes say where it ends)."""
    found, at = [], 0
    while (at := data.find(GS_V0, at)) >= 0:
        header = data[at + 4 : at + 8]
        width_bytes = header[0] | header[1] << 8
        height = header[2] | header[3] << 8
        body = data[at + 8 : at + 8 + width_bytes * height]
        assert len(body) == width_bytes * height, "truncated raster"
        # In GS v 0 a set bit prints a dot; in PIL mode "1" a set bit is white: invert.
        image = Image.frombytes("1", (width_bytes * 8, height), bytes(b ^ 0xFF for b in body))
        end = at + 8 + len(body)
        found.append(Raster(width_bytes, height, image, at, end))
        at = end
    return found


def without_rasters(data: bytes) -> bytes:
    """``data`` with every raster image's header and dots removed: the text and commands."""
    kept, at = [], 0
    for r in rasters(data):
        kept.append(data[at : r.start])
        at = r.end
    kept.append(data[at:])
    return b"".join(kept)


def stack(images: list[Image.Image]) -> Image.Image:
    """Images one under the other, as the paper would show them."""
    width = max(i.width for i in images)
    sheet = Image.new("L", (width, sum(i.height for i in images) + 40), 255)
    y = 20
    for image in images:
        sheet.paste(image.convert("L"), (0, y))
        y += image.height
    return sheet
