"""Pages: the landing page (signed-in staff only) and the staff sign-in form.

A browser keeps its staff session's token in Flask's signed, HTTP-only session cookie; the
session itself is the same kind the API's sign-in opens (it expires, sign-out ends it).
"""

from __future__ import annotations

import datetime as dt
import time

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded

from loyalty.auth.tokens import hash_token
from loyalty.errors import Unauthorized
from loyalty.http import db_session
from loyalty.staff.services import end_staff_session, live_session, sign_in_staff
from web.overview import chain_overview

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/assets")
_COOKIE_KEY = "staff_token"  # noqa: S105 - the key in the session cookie, not a secret
_SEEN_KEY = "staff_seen"  # when this browser last opened a staff page (inactivity timeout)


def _signed_in() -> tuple[object, object] | None:
    """The staff user and session of this browser, if it holds a live one and has used it
    within ``LOYALTY_STAFF_IDLE_MINUTES`` (else the session is ended: a desk left open)."""
    token = session.get(_COOKIE_KEY)
    found = live_session(db_session(), hash_token(token)) if isinstance(token, str) else None
    if found is None:
        return None
    idle = current_app.extensions["loyalty.settings"].staff_idle_minutes * 60
    seen = session.get(_SEEN_KEY)
    now = int(time.time())
    if not isinstance(seen, int) or now - seen > idle:
        user, signed_in = found
        end_staff_session(db_session(), signed_in.id, actor=f"staff:{user.id}")  # type: ignore[attr-defined]
        session.clear()
        return None
    session[_SEEN_KEY] = now
    return found


def _lang() -> dict[str, str]:
    return {"lang": request.args["lang"]} if "lang" in request.args else {}


@bp.get("/")
def home() -> str | Response:
    """The chain at a glance: for signed-in staff only (programme figures are not public)."""
    found = _signed_in()
    if found is None:
        return redirect(url_for("pages.sign_in", **_lang()))
    return render_template("pages/home.html", overview=chain_overview(db_session()),
                           staff=found[0])


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> str | Response | tuple[str, int]:
    """Staff sign-in.  POST is rate-limited with the API's sign-in (loyalty/limits.py)."""
    if request.method == "GET":
        return render_template("pages/sign_in.html")
    hours = current_app.extensions["loyalty.settings"].staff_session_hours
    username, password = request.form.get("username", ""), request.form.get("password", "")
    try:
        if not _plausible(username, password):  # what the API's SignInSchema would refuse
            raise Unauthorized()
        _user, token = sign_in_staff(db_session(), username, password,
                                     lifetime=dt.timedelta(hours=hours))
    except Unauthorized:
        return render_template("pages/sign_in.html",
                               error=_("Wrong username or password.")), 401
    session.clear()
    session[_COOKIE_KEY] = token
    session[_SEEN_KEY] = int(time.time())
    return redirect(url_for("pages.home", **_lang()))


def _plausible(username: str, password: str) -> bool:
    return (0 < len(username) <= 100 and 0 < len(password) <= 1024
            and "\x00" not in username + password)


@bp.post("/sign-out")
def sign_out() -> Response:
    found = _signed_in()
    if found is not None:
        user, signed_in = found
        end_staff_session(db_session(), signed_in.id, actor=f"staff:{user.id}")  # type: ignore[attr-defined]
    session.clear()
    return redirect(url_for("pages.sign_in", **_lang()))


@bp.errorhandler(RateLimitExceeded)
def _too_many_attempts(exc: RateLimitExceeded) -> tuple[str, int, dict[str, str]]:
    retry_after = exc.response.headers.get("Retry-After", "60") if exc.response else "60"
    page = render_template("pages/sign_in.html",
                           error=_("Too many attempts. Try again in a minute."))
    return page, 429, {"Retry-After": retry_after}
