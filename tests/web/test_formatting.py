"""Numbers, money and dates in the page's locale: its separators and its own digits, and the
Persian calendar on Persian pages."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from loyalty.app import create_app
from web.i18n import date, money, number


@pytest.fixture
def page_in(app):  # type: ignore[no-untyped-def]
    def _in(lang: str, the_app=None):  # type: ignore[no-untyped-def]
        return (the_app or app).test_request_context(f"/my/sign-in?lang={lang}")
    return _in


def test_english_latin_digits(page_in):
    with page_in("en"):
        assert number(1234567) == "1,234,567"
        assert money(4250, "AED") == "AED42.50"  # CLDR en: the code, no space


def test_persian_digits_and_the_persian_calendar(page_in):
    with page_in("fa"):
        assert number(1234567) == "۱٬۲۳۴٬۵۶۷"
        assert "۴۲٫۵۰" in money(4250, "AED")
        shown = str(date(dt.date(2026, 12, 3)))
        assert "۱۲ آذر ۱۴۰۵" in shown  # 12 Azar 1405 in the Solar Hijri calendar
        assert 'datetime="2026-12-03"' in shown


def test_arabic_follows_the_configured_region(page_in, settings):
    with page_in("ar"):
        assert number(1234) == "1,234"  # CLDR's plain "ar": Latin digits, as in the Gulf
    saudi = create_app(replace(settings, arabic_region="SA"))
    with page_in("ar", saudi):
        assert number(1234) == "١٬٢٣٤"
        assert "٤٢٫٥٠" in money(4250, "SAR")
    saudi.extensions["loyalty.db"].engine.dispose()


def test_an_unknown_arabic_region_stops_the_start(settings):
    from loyalty.config import SettingsError

    with pytest.raises(SettingsError, match="LOYALTY_ARABIC_REGION"):
        create_app(replace(settings, arabic_region="XX"))
