"""Checks shared by the three gettext domains' tests (web pages, messaging, campaigns): the
placeholders a translation must keep, and the compiled .mo that must match its .po."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def placeholders(text: str) -> list[str]:
    return sorted(_PLACEHOLDER.findall(text))


def translations(po: Path) -> dict[str, str]:
    """Message id -> translation of a .po (or, by its suffix, a .mo) file."""
    with open(po, "rb") as f:
        catalogue = read_mo(f) if po.suffix == ".mo" else read_po(f)
    return {m.id: m.string for m in catalogue if m.id}


def assert_compiled(po: Path) -> None:
    """The .mo beside ``po`` holds exactly its translations: a .po edited without
    ``pybabel compile`` would ship stale ones."""
    assert translations(po.with_suffix(".mo")) == translations(po), \
        f"{po.with_suffix('.mo')} is stale: run pybabel compile"
