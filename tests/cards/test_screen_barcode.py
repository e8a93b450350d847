"""The card's barcode for a phone's screen scans, whatever the number: every module exactly
2 px (python-barcode's own writer left one card in eight unreadable at screen resolution)."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image

from loyalty.cards.numbers import make_card_number
from loyalty.cards.render import screen_barcode_png


def test_a_hundred_card_numbers_scan_and_fit_a_phone():
    for _ in range(100):
        number = make_card_number("9871", 16)
        image = Image.open(io.BytesIO(screen_barcode_png(number)))
        assert [d.text for d in zxingcpp.read_barcodes(image)] == [number]
        assert image.width <= 320  # a 360 px screen less the page's margins


def test_every_bar_and_space_is_a_whole_number_of_modules():
    image = Image.open(io.BytesIO(screen_barcode_png(make_card_number("9871", 16))))
    row = [image.getpixel((x, image.height // 2)) for x in range(image.width)]
    runs, count = [], 1
    for left, right in zip(row, row[1:], strict=False):
        if left == right:
            count += 1
        else:
            runs.append(count)
            count = 1
    assert all(run % 2 == 0 for run in runs[1:])  # after the quiet zone: 2 px per module
