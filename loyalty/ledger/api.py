"""HTTP API for the ledger: a member's entries (paginated) and staff adjustments."""

from __future__ import annotations

from flask_smorest import Blueprint

URL_PREFIX = ""
blp = Blueprint("ledger", __name__, description="Points ledger")
