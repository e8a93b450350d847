"""Pages for people: member portal, cashier, marketing and admin screens."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from web.pages import bp

    app.register_blueprint(bp)
