"""The basket's plain-lines fast path gives exactly LineInSchema's answer, at every limit.

``_plain_lines`` restates LineInSchema's rules to skip twenty nested loads per checkout; these
cases hold the two to the same loaded lines or the same error for the same input, so a limit
changed in one place and not the other fails here.
"""

from __future__ import annotations

import pytest
from marshmallow import ValidationError, fields, validate

from loyalty.checkout.schemas import BasketInSchema, LineInSchema, _plain_lines
from loyalty.checkout.services import (
    MAX_LINES,
    MAX_QUANTITY,
    MAX_SKU_LENGTH,
    MAX_UNIT_PRICE_MINOR,
)


class _NestedOnly(BasketInSchema):
    """The basket schema with the lines loaded only by LineInSchema, as before the fast path."""

    lines = fields.List(fields.Nested(LineInSchema), required=True,
                        validate=validate.Length(1, MAX_LINES))


def _line(**change: object) -> dict:
    line: dict = {"sku": "SKU-1", "quantity": 2, "unit_price_minor": 1999}
    line.update(change)
    return {k: v for k, v in line.items() if v is not _DROP}


_DROP = object()

PLAIN = [
    [_line()],
    [_line(discount_minor=0), _line(sku="B", discount_minor=500)],
    [_line(sku="x"), _line(sku="x" * MAX_SKU_LENGTH)],
    [_line(quantity=1), _line(quantity=MAX_QUANTITY)],
    [_line(unit_price_minor=0), _line(unit_price_minor=MAX_UNIT_PRICE_MINOR)],
    [_line()] * MAX_LINES,
]

NOT_PLAIN = [
    [],
    [_line()] * (MAX_LINES + 1),
    [_line(sku="")],
    [_line(sku="x" * (MAX_SKU_LENGTH + 1))],
    [_line(sku=12)],
    [_line(sku=_DROP)],
    [_line(quantity=0)],
    [_line(quantity=MAX_QUANTITY + 1)],
    [_line(quantity=True)],
    [_line(quantity=2.0)],
    [_line(quantity="2")],
    [_line(quantity=_DROP)],
    [_line(unit_price_minor=-1)],
    [_line(unit_price_minor=MAX_UNIT_PRICE_MINOR + 1)],
    [_line(unit_price_minor=None)],
    [_line(discount_minor=-1)],
    [_line(discount_minor=False)],
    [_line(colour="red")],
    [_line(), "SKU-2"],
    [_line(), _line(quantity=0), _line(sku="")],
    "SKU-1",
    {"sku": "SKU-1"},
    None,
]


def _answer(schema: BasketInSchema, lines: object) -> object:
    body = {"currency": "EUR", "lines": lines}
    try:
        return schema.load(body)["lines"]
    except ValidationError as exc:
        return ("error", exc.messages)


@pytest.mark.parametrize("lines", PLAIN, ids=range(len(PLAIN)))
def test_plain_lines_take_the_fast_path_and_load_as_line_in_schema_would(lines) -> None:  # type: ignore[no-untyped-def]
    assert _plain_lines(lines) is not None
    fast = _answer(BasketInSchema(), lines)
    assert fast == _answer(_NestedOnly(), lines)
    assert fast == tuple(LineInSchema(many=True).load(lines))


@pytest.mark.parametrize("lines", NOT_PLAIN, ids=range(len(NOT_PLAIN)))
def test_anything_else_gets_line_in_schema_answer(lines) -> None:  # type: ignore[no-untyped-def]
    if isinstance(lines, list) and 1 <= len(lines) <= MAX_LINES:
        assert _plain_lines(lines) is None
    fast = _answer(BasketInSchema(), lines)
    assert fast == _answer(_NestedOnly(), lines)
    assert fast[0] == "error"
