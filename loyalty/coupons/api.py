"""HTTP API for the coupons slice: load with a schema, call one service, dump the result."""

from __future__ import annotations

from flask_smorest import Blueprint

URL_PREFIX = "/coupons"
blp = Blueprint("coupons", __name__, description="coupons")
