from __future__ import annotations

from flask import Blueprint, jsonify

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    return jsonify(service="loyalty back office", api="/api/v1/openapi.json")
