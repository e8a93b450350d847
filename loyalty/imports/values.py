"""Parsing one cell of an import file.  Each parser returns the value or raises
:class:`BadValue` with the reason a person reads next to the line number.

Cells come as text (CSV) or already typed (Parquet), so each parser takes either.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

MAX_MINOR = 10**12  # far above any real line or balance: a value past it is a typo


class BadValue(ValueError):
    """A cell that cannot be used; the message is the reason."""


def text(row: dict[str, Any], column: str, *, required: bool = True,
         max_length: int = 64) -> str | None:
    value = row.get(column)
    value = "" if value is None else str(value).strip()
    if not value:
        if required:
            raise BadValue(f"missing {column}")
        return None
    if len(value) > max_length:
        raise BadValue(f"{column} is longer than {max_length} characters")
    return value


def whole_number(row: dict[str, Any], column: str, *, minimum: int = 0) -> int:
    """An integer cell at least ``minimum``; decimals are refused, not rounded."""
    raw = row.get(column)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise BadValue(f"missing {column}")
    if isinstance(raw, bool):
        raise BadValue(f"{column} {raw!r} is not a whole number")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float) and raw.is_integer():
        value = int(raw)
    else:
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise BadValue(f"{column} {str(raw).strip()!r} is not a whole number") from None
    if value < 0 and minimum >= 0:
        raise BadValue(f"negative {column} {value}")
    if value < minimum:
        raise BadValue(f"{column} {value} is below {minimum}")
    if value > MAX_MINOR:
        raise BadValue(f"{column} {value} is above the ceiling")
    return value


def timestamp(row: dict[str, Any], column: str) -> dt.datetime:
    """An ISO 8601 date and time, with or without a zone (the caller decides what a time
    without one means)."""
    raw = row.get(column)
    if isinstance(raw, dt.datetime):
        return raw
    if isinstance(raw, dt.date):
        return dt.datetime.combine(raw, dt.time())
    value = "" if raw is None else str(raw).strip()
    if not value:
        raise BadValue(f"missing {column}")
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise BadValue(f"{column} {value!r} is not a date and time (ISO 8601)") from None


def date(row: dict[str, Any], column: str, *, required: bool = False) -> dt.date | None:
    raw = row.get(column)
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    value = "" if raw is None else str(raw).strip()
    if not value:
        if required:
            raise BadValue(f"missing {column}")
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadValue(f"{column} {value!r} is not a date (YYYY-MM-DD)") from None


_YES = {"1", "true", "yes", "y", "granted"}
_NO = {"0", "false", "no", "n", "withdrawn"}


def yes_no(row: dict[str, Any], column: str) -> bool | None:
    """A yes/no cell; empty is None (no decision given)."""
    raw = row.get(column)
    if raw is None or isinstance(raw, bool):
        return raw
    value = str(raw).strip().lower()
    if not value:
        return None
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise BadValue(f"{column} {str(raw).strip()!r} is not yes or no")
