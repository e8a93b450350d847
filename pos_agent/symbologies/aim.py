"""AIM symbology identifiers (ISO/IEC 15424): the ``]Cm`` prefix a scanner may send.

A scanner set to transmit them prefixes every read with ``]``, a code character naming the
symbology, and a modifier character.  The identifier tells us how the data must be read, so
we strip it and let it choose the parser: ``]C1`` says a GS1 element string follows (Code 128
with FNC1 in first position), ``]E0`` says EAN-13/UPC-A digits follow, ``]Q1`` a plain QR code.

Only the code characters and modifiers the till acts on are named (ISO/IEC 15424:2008 table 1,
and the GS1 General Specifications figure 5.1.2-2 for the GS1 ones); any other well-formed
identifier is stripped and its data read as plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Family(Enum):
    """How the data after an identifier must be read."""

    EAN = "ean"  # EAN-13, UPC-A, UPC-E: digits with a GS1 check digit
    EAN8 = "ean8"
    ADD_ON = "add-on"  # a 2- or 5-digit add-on read on its own: never an item
    ITF14 = "itf-14"  # ITF with its check digit validated: a GTIN-14 on a case
    GS1 = "gs1"  # a GS1 element string (AIs, FNC1 as GS)
    QR = "qr"  # QR Code without GS1 semantics
    DATAMATRIX = "datamatrix"
    CODE128 = "code128"
    CODE39 = "code39"
    OTHER = "other"


# (code character, modifier) -> (family, the symbology's name for ProductScan.symbology).
# Sources: ISO/IEC 15424:2008 table 1; GS1 General Specifications fig. 5.1.2-2.
_KNOWN: dict[tuple[str, str], tuple[Family, str]] = {
    ("E", "0"): (Family.EAN, "ean-13"),  # EAN-13, UPC-A (as 13 digits) or UPC-E
    ("E", "1"): (Family.ADD_ON, "ean-2"),
    ("E", "2"): (Family.ADD_ON, "ean-5"),
    ("E", "3"): (Family.EAN, "ean-13"),  # EAN-13/UPC with its add-on appended
    ("E", "4"): (Family.EAN8, "ean-8"),
    ("I", "1"): (Family.ITF14, "itf-14"),
    ("C", "1"): (Family.GS1, "gs1-128"),
    ("e", "0"): (Family.GS1, "gs1-databar"),
    ("e", "1"): (Family.GS1, "gs1-composite"),
    ("e", "2"): (Family.GS1, "gs1-composite"),
    ("d", "2"): (Family.GS1, "gs1-datamatrix"),
    ("Q", "3"): (Family.GS1, "gs1-qr"),
    ("Q", "4"): (Family.GS1, "gs1-qr"),  # FNC1 in first position with ECI
    ("J", "1"): (Family.GS1, "gs1-dotcode"),
}
_BY_CODE: dict[str, tuple[Family, str]] = {
    "C": (Family.CODE128, "code128"),
    "A": (Family.CODE39, "code39"),
    "Q": (Family.QR, "qr"),
    "d": (Family.DATAMATRIX, "datamatrix"),
    "I": (Family.OTHER, "itf"),
    "L": (Family.OTHER, "pdf417"),
    "z": (Family.OTHER, "aztec"),
}
# ']' + code character + one modifier character.  ']Y' (system expansion) has a longer
# modifier; no retail scanner sends it, so it is read as text and ends as junk.
_AIM = re.compile(r"\](?P<code>[A-XZa-z])(?P<modifier>[0-9A-Za-z])")


@dataclass(frozen=True)
class Aim:
    """A parsed symbology identifier."""

    code: str
    modifier: str
    family: Family
    symbology: str

    def __str__(self) -> str:
        return f"]{self.code}{self.modifier}"


def split_aim(text: str) -> tuple[Aim | None, str]:
    """``(identifier, data)``; ``(None, text)`` when the text starts with no identifier."""
    match = _AIM.match(text)
    if match is None:
        return None, text
    code, modifier = match["code"], match["modifier"]
    family, symbology = _KNOWN.get((code, modifier)) or _BY_CODE.get(
        code, (Family.OTHER, "other")
    )
    return Aim(code, modifier, family, symbology), text[match.end():]
