"""Pages for people: member portal, cashier, marketing and admin screens.

Every page is translatable (English, Arabic, Persian; see :mod:`web.i18n`) and renders
right-to-left for Arabic and Persian.  Every form carries a CSRF token and every page the
security headers of :mod:`web.security`.  docs/PAGES.md tells the whole story.
"""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from flask import Flask

from loyalty.config import SettingsError


def init_app(app: Flask) -> None:
    from web.i18n import init_i18n
    from web.pages import bp
    from web.portal import bp as portal_bp
    from web.security import init_security

    settings = app.extensions["loyalty.settings"]
    _check_arabic_region(settings.arabic_region)
    init_i18n(app)
    init_security(app, settings)
    app.register_blueprint(bp)
    app.register_blueprint(portal_bp)


def _check_arabic_region(region: str) -> None:
    if not region:
        return
    try:
        Locale.parse(f"ar_{region}")
    except (ValueError, UnknownLocaleError) as exc:
        raise SettingsError(f"LOYALTY_ARABIC_REGION: no Arabic locale for {region!r}") from exc
