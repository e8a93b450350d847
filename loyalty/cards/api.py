"""HTTP API for the cards slice: load with a schema, call one service, dump the result."""

from __future__ import annotations

from flask_smorest import Blueprint

URL_PREFIX = "/cards"
blp = Blueprint("cards", __name__, description="cards")
