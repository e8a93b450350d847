"""GS1 element strings (GS1-128, GS1 DataMatrix, GS1 QR, DataBar), read with biip.

An element string is a run of application identifiers (AIs) and their data:
``01 09521234543213 3103 000123 10 ABC`` ...  Fixed-length AIs (01 GTIN, 11/13/15/17 dates,
310x net weight) need no separator; a variable-length one (10 batch, 21 serial, 30/37 counts,
392x/393x prices) ends with FNC1, which scanners transmit as GS (``\\x1d``), unless it is last.

biip holds the GS1 AI table (formats, lengths, which need FNC1) and checks each AI's pattern,
dates, and the check digits of GTINs (AI 01, 02, 03), SSCCs (00) and GLNs (41x).  We refuse
the whole string when any of those fails: a misread label must not key a product.

biip's own error messages quote the data; they never leave this module.
"""

from __future__ import annotations

from collections.abc import Callable

from biip import BiipException
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementStrings
from biip.gs1_messages import GS1Message

GS = "\x1d"  # FNC1 as scanners transmit it
_MAX_CHARS = 512  # GS1-128 holds at most 48 characters, a GS1 DataMatrix a few hundred


def parse_element_string(text: str) -> dict[str, str] | None:
    """``{ai: data}`` of a GS1 element string (FNC1 as GS), or None if it is not one.

    A leading GS (FNC1 in first position, as some scanners send it) is allowed.  None also
    when a check digit or a date is wrong, or one AI appears twice with different data.
    """
    if not _plain_ascii(text):
        return None
    return _read(lambda: GS1Message.parse(text.lstrip(GS)).element_strings)


def parse_hri(text: str) -> dict[str, str] | None:
    """The human-readable form ``(01)09521234543213(10)ABC``, as a person might type it."""
    if not _plain_ascii(text) or not text.startswith("("):
        return None
    return _read(lambda: GS1Message.parse_hri(text).element_strings)


def parse_digital_link(text: str) -> dict[str, str] | None:
    """A GS1 Digital Link URI (``https://id.gs1.org/01/09521234543213``) in a QR code."""
    if not _plain_ascii(text) or not text.lower().startswith(("https://", "http://")):
        return None
    return _read(lambda: GS1DigitalLinkURI.parse(text).element_strings)


def _plain_ascii(text: str) -> bool:
    # biip matches with \d, which in Python also takes Arabic-Indic digits: refuse them here,
    # the caller folds digits to ASCII first.
    return 0 < len(text) <= _MAX_CHARS and text.isascii()


def _read(parse: Callable[[], GS1ElementStrings]) -> dict[str, str] | None:
    """What one biip parser reads, as ``{ai: data}``; None if it refuses (its message, which
    quotes the data, is dropped here)."""
    try:
        elements = parse()
    except (BiipException, ValueError):
        return None
    return _as_dict(elements)


def _as_dict(elements: GS1ElementStrings) -> dict[str, str] | None:
    found: dict[str, str] = {}
    for element in elements:
        if _check_digit_failed(element):
            return None
        if found.setdefault(element.ai.ai, element.value) != element.value:
            return None  # the same AI twice with different data: GS1 GenSpecs 4.14
    return found or None


def _check_digit_failed(element: object) -> bool:
    return any(
        getattr(element, name, None) is not None
        for name in ("gtin_error", "sscc_error", "gln_error")
    )
