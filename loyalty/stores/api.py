"""HTTP API for the stores slice: load with a schema, call one service, dump the result."""

from __future__ import annotations

from flask_smorest import Blueprint

URL_PREFIX = "/stores"
blp = Blueprint("stores", __name__, description="stores")
