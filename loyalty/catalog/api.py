"""HTTP API for the catalog slice: load with a schema, call one service, dump the result."""

from __future__ import annotations

from flask_smorest import Blueprint

URL_PREFIX = "/catalog"
blp = Blueprint("catalog", __name__, description="catalog")
