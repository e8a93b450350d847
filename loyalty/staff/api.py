"""HTTP API for the staff slice: load with a schema, call one service, dump the result."""

from __future__ import annotations

from flask_smorest import Blueprint

URL_PREFIX = "/staff"
blp = Blueprint("staff", __name__, description="staff")
