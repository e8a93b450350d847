"""Pages for people: member portal, cashier, marketing and admin screens.

Every page is translatable (English, Arabic, Persian; see :mod:`web.i18n`) and renders
right-to-left for Arabic and Persian.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from web.i18n import init_i18n
    from web.pages import bp

    init_i18n(app)
    # The staff session's token rides in the session cookie: never sent cross-site on a POST.
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.register_blueprint(bp)
