"""One style sheet serves left-to-right and right-to-left pages: logical properties only."""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
PHYSICAL = re.compile(r"\b(left|right)\b|-(left|right)\b")


def test_style_sheets_name_no_physical_side():
    for sheet in STATIC.glob("*.css"):
        found = [line for line in sheet.read_text().splitlines() if PHYSICAL.search(line)]
        assert found == [], f"{sheet.name}: use inline-start/inline-end instead: {found}"


def test_the_check_sees_a_physical_side():
    assert PHYSICAL.search("margin-left: 1rem") and PHYSICAL.search("text-align: right")
    assert not PHYSICAL.search("margin-inline-start: 1rem")


def test_pages_load_no_inline_script(client):
    page = client.get("/my/join").get_data(as_text=True)
    assert re.findall(r"<script[^>]*>", page) == [
        '<script src="/assets/pages.js" defer>']
    assert " style=" not in page and "<style" not in page
