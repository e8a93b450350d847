"""What every page for people carries: CSRF tokens on forms, session cookie flags, headers.

* **CSRF** (Flask-WTF's ``CSRFProtect``): every POST to a page blueprint must carry the token
  its form was given (``csrf_token()`` in the template), else 400 with the page's own error.
  The API (bearer tokens, no cookies) and the one-click unsubscribe (RFC 8058: mail clients
  post it without any page) are not pages and are not checked.
* **Cookies**: HttpOnly, SameSite=Lax, and Secure when ``LOYALTY_HTTPS`` says the site is on TLS.
* **Headers** on every page: a Content-Security-Policy that allows scripts, styles and images
  from this server only (no inline script or style: every script is a file under /assets),
  ``frame-ancestors 'none'``; no sniffing, no referrer beyond this site; HSTS under
  ``LOYALTY_HTTPS``.
"""

from __future__ import annotations

from flask import Flask, Response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect

from loyalty.config import Settings
from web.i18n import PAGE_BLUEPRINTS

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
HSTS = "max-age=31536000; includeSubDomains"
csrf = CSRFProtect()


def init_security(app: Flask, settings: Settings) -> None:
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.https,
        # Checked by the page blueprints only (below), not by every POST of the app.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session it is bound to
        WTF_CSRF_SSL_STRICT=settings.https,
    )
    csrf.init_app(app)

    @app.before_request
    def _check_csrf() -> None:
        if request.blueprint in PAGE_BLUEPRINTS:
            csrf.protect()  # no-op for GET, HEAD, OPTIONS

    @app.errorhandler(CSRFError)
    def _csrf_refused(_exc: CSRFError) -> tuple[str, int]:
        return render_template("errors/form_expired.html",
                               message=_("This form has expired. Go back, reload the page "
                                         "and send it again.")), 400

    @app.after_request
    def _headers(response: Response) -> Response:
        if request.blueprint in PAGE_BLUEPRINTS or request.path.startswith("/assets/"):
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            response.headers.setdefault("X-Frame-Options", "DENY")  # for browsers without CSP 3
            if settings.https:
                response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
