"""Cards API: identify a presented card (tills), block and replace (staff), card images.

The card number travels in the URL, so whatever the caller sends there may be a payment card
number.  The services refuse one before any lookup and never echo it; :class:`ScrubAccessLog`
keeps it out of the HTTP access logs (werkzeug's development server, gunicorn's access log),
which write the raw request line before any of our code could refuse it.
"""

from __future__ import annotations

import logging

from flask import Response, current_app
from flask_smorest import Blueprint

from loyalty.auth.principal import current_principal
from loyalty.cards import render, schemas, services
from loyalty.http import db_session
from loyalty.logging_setup import scrub

URL_PREFIX = "/cards"
blp = Blueprint("cards", __name__, description="Identify, block and replace loyalty cards")

ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")
_IMAGE_DOC = {
    "responses": {
        "200": {
            "description": "The image",
            "content": {mime: {"schema": {"type": "string", "format": "binary"}}
                        for mime in render.MIME_TYPES.values()},
        }
    }
}


class ScrubAccessLog(logging.Filter):
    """Mask card-like numbers in access-log lines before any handler sees them.

    A filter on the logger itself (not a handler) runs before every handler, including ones
    that do not use our JSON formatter (werkzeug's own console handler, pytest's capture).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


@blp.record_once
def _scrub_access_logs(_state: object) -> None:
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ScrubAccessLog) for f in logger.filters):
            logger.addFilter(ScrubAccessLog())


def _card_format() -> tuple[str, int]:
    settings = current_app.extensions["loyalty.settings"]
    return settings.card_prefix, settings.card_length


@blp.route("/<number>", methods=["GET"])
@blp.response(200, schemas.IdentitySchema)
def identify_card(number: str):  # type: ignore[no-untyped-def]
    """Identify the member behind a card: member, tier, balance, redeemable points, coupons.

    Errors: ``unknown_card`` (404), ``card_blocked`` and ``card_replaced`` (403),
    ``payment_card`` (422; the number is never echoed, logged or stored).
    """
    principal = current_principal()
    return services.identify_card(db_session(), number, *_card_format(),
                                  store_id=principal.store_id)


@blp.route("/<number>/block", methods=["POST"])
@blp.arguments(schemas.CardActionInSchema)
@blp.response(200, schemas.CardSchema)
def block_card(data: dict, number: str):  # type: ignore[no-untyped-def]
    """Block a lost or misused card; tills refuse it from now on.  Audit-logged."""
    return services.block_card(db_session(), number, *_card_format(), reason=data["reason"],
                               actor=current_principal().actor)


@blp.route("/<number>/replace", methods=["POST"])
@blp.arguments(schemas.CardActionInSchema)
@blp.response(201, schemas.ReplacementSchema)
def replace_card(data: dict, number: str):  # type: ignore[no-untyped-def]
    """Replace a card by a new one; the member keeps every point.  Audit-logged."""
    return services.replace_card(db_session(), number, *_card_format(), reason=data["reason"],
                                 actor=current_principal().actor)


def _image(number: str, fmt: str, draw) -> Response:  # type: ignore[no-untyped-def]
    card = services.find_usable_card(db_session(), number, *_card_format())
    response = Response(draw(card.number, fmt), mimetype=render.MIME_TYPES[fmt])
    # The image of a number never changes, but a card may be blocked: cache briefly, privately.
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@blp.route("/<number>/barcode.<any(svg, png):fmt>", methods=["GET"])
@blp.doc(**_IMAGE_DOC)
def card_barcode(number: str, fmt: str) -> Response:
    """The card as a Code 128 barcode (SVG or PNG), for printing or a phone screen."""
    return _image(number, fmt, render.barcode_image)


@blp.route("/<number>/qr.<any(svg, png):fmt>", methods=["GET"])
@blp.doc(**_IMAGE_DOC)
def card_qr(number: str, fmt: str) -> Response:
    """The card as a QR code (SVG or PNG)."""
    return _image(number, fmt, render.qr_image)
