"""Pages that need no sign-in: the landing page."""

from __future__ import annotations

from flask import Blueprint, render_template

from loyalty.http import db_session
from web.overview import chain_overview

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/assets")


@bp.get("/")
def home() -> str:
    return render_template("pages/home.html", overview=chain_overview(db_session()))
