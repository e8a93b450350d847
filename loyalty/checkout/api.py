"""HTTP API for the checkout slice: load with a schema, call one service, dump the result."""

from __future__ import annotations

from flask_smorest import Blueprint

URL_PREFIX = ""
blp = Blueprint("checkout", __name__, description="checkout")
