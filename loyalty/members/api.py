"""HTTP API for the members slice: load with a schema, call one service, dump the result."""

from __future__ import annotations

from flask_smorest import Blueprint

URL_PREFIX = "/members"
blp = Blueprint("members", __name__, description="members")
