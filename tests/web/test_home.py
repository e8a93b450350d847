"""The landing page: the chain at a glance, in English, Arabic and Persian, for signed-in staff.

(Who may see it, and the sign-in form: tests/web/test_sign_in.py.)
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from loyalty.db import utcnow
from loyalty.ledger.models import PostingKind
from loyalty.ledger.services import PostingRequest, earn_points, expire_points, spend_points
from tests.factories import make_member, make_store
from tests.web.signing_in import sign_in_browser
from web.overview import chain_overview


@pytest.fixture(autouse=True)
def _signed_in(client, db) -> None:  # type: ignore[no-untyped-def]
    sign_in_browser(client, db)


def html_root(page: str) -> str:
    return re.search(r"<html[^>]*>", page).group(0)


def test_arabic_page_is_right_to_left_and_translated(client):
    page = client.get("/?lang=ar").get_data(as_text=True)
    assert 'dir="rtl"' in html_root(page)
    assert 'lang="ar"' in html_root(page)
    assert "الأعضاء" in page  # "Members"
    assert "إدارة برنامج الولاء" in page  # "Loyalty back office"
    assert "Members" not in page


def test_persian_is_chosen_from_the_browser_language(client):
    page = client.get("/", headers={"Accept-Language": "fa-IR,fa;q=0.9,en;q=0.5"})
    text = page.get_data(as_text=True)
    assert 'dir="rtl"' in html_root(text)
    assert 'lang="fa"' in html_root(text)
    assert "اعضا" in text


def test_english_by_default_and_for_unknown_languages(client):
    for url, headers in (("/", {}), ("/?lang=xx", {"Accept-Language": "de-DE"})):
        text = client.get(url, headers=headers).get_data(as_text=True)
        assert 'dir="ltr"' in html_root(text)
        assert "Members" in text


def test_the_query_beats_the_browser(client):
    text = client.get("/?lang=en", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert 'lang="en"' in html_root(text)


def test_page_shows_the_chain(client, db, settings):
    make_store(db, code="DXB-09")
    for name in ("Layla Haddad", "Omar Khan"):
        make_member(db, settings, name=name)
    db.commit()
    resp = client.get("/?lang=en")
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    text = resp.get_data(as_text=True)
    assert "DXB-09" in text
    members = re.search(r'<span class="value">([\d,]+)</span>\s*<span class="label">Members',
                        text)
    assert members and members.group(1) == "2"


def test_overview_totals_the_programme_accounts(db, settings):
    member, _card = make_member(db, settings)
    earn_points(db, PostingRequest(PostingKind.EARN, member.id, 100, utcnow()), 365)
    spend_points(db, PostingRequest(PostingKind.REDEEM, member.id, -30, utcnow()))
    expire_points(db, now=utcnow() + dt.timedelta(days=400))  # the other 70: neither total
    overview = chain_overview(db)
    assert (overview.points_issued, overview.points_redeemed) == (100, 30)


def test_empty_chain_says_how_to_seed(client):
    assert "loyalty demo seed" in client.get("/").get_data(as_text=True)


def test_stylesheet_is_served(client):
    resp = client.get("/assets/style.css")
    assert resp.status_code == 200
    assert "margin-inline" in resp.get_data(as_text=True)
