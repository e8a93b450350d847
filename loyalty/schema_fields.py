"""Schema fields and URL converters that refuse what the database cannot store.

Every schema and route of the API uses these instead of marshmallow's and werkzeug's own, so
that a value the database would choke on (a NUL character, a lone surrogate, an integer past
the column's range, an instant past year 9999 once in UTC) is refused at the edge with a 422
or a 404 naming the field, instead of reaching SQL and answering 500.

PostgreSQL refuses NUL in text, and neither backend can encode a lone surrogate (JSON's
``"\\ud800"``) to UTF-8.  Ids and counts are 32-bit ``INTEGER`` columns on both databases.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import fields, validate
from werkzeug.routing import IntegerConverter, UnicodeConverter

from loyalty.db import INT32_MAX, INT32_MIN


def storable_text_error(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None when it can."""
    if "\x00" in value:
        return "Must not contain NUL characters."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode text (no lone surrogates)."
    return None


class _StorableText:
    """Mixin for string fields: refuse what a text column cannot hold."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)  # type: ignore[misc]
        if isinstance(text, str):
            problem = storable_text_error(text)
            if problem:
                raise self.make_error("unstorable", problem=problem)  # type: ignore[attr-defined]
        return text


class String(_StorableText, fields.String):
    default_error_messages = {"unstorable": "{problem}"}


class Email(_StorableText, fields.Email):
    default_error_messages = {"unstorable": "{problem}"}


class Boolean(fields.Boolean):
    """JSON ``true`` or ``false`` only: not ``1``, ``"yes"`` or ``"on"``, which the document
    does not allow and a client sending them has most likely confused with another field."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):  # 1 == True: a truthy set alone would let 1 in
            raise self.make_error("invalid", input=value)
        return value


class Integer(fields.Integer):
    """An integer that fits a 32-bit ``INTEGER`` column, unless the field names wider bounds.

    ``minimum``/``maximum`` default to the int32 range; a field's own ``validate.Range``
    narrows it further.  Both appear in the OpenAPI document.
    """

    def __init__(self, *, minimum: int = INT32_MIN, maximum: int = INT32_MAX,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.insert(0, validate.Range(minimum, maximum))


class Id(Integer):
    """A row id: 1 to 2**31 - 1."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(minimum=1, **kwargs)


class AwareDateTime(fields.AwareDateTime):
    """An ISO 8601 instant with an offset, that still falls within years 1-9999 in UTC (the
    database stores UTC; ``9999-12-31T23:00-05:00`` is past the end of Python's calendar)."""

    default_error_messages = {"out_of_range": "The instant is outside the supported range."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        instant = super()._deserialize(value, attr, data, **kwargs)
        try:
            instant.astimezone(dt.UTC)
        except OverflowError as exc:
            raise self.make_error("out_of_range") from exc
        return instant


# -- URL converters: registered by the composition root before any route -------------------

class IdConverter(IntegerConverter):
    """``<int:...>`` in a route: 1 to 2**31 - 1; anything else does not match (404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", INT32_MAX)
        super().__init__(map, *args, **kwargs)


class TextConverter(UnicodeConverter):
    """``<name>`` / ``<string:name>`` in a route, without NUL characters (those do not match)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", r"[^/\x00]", 1)


URL_CONVERTERS = {"int": IdConverter, "default": TextConverter, "string": TextConverter}
