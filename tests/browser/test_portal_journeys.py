"""Member journeys in a real browser (Chromium, 360 px wide), each ending in a screenshot."""

from __future__ import annotations

import re

from sqlalchemy import select

from loyalty.accounts.plastic import stock_plastic_cards
from loyalty.cards.models import Card
from loyalty.members.models import Member
from tests.browser.journeys import a_store_with_a_till, checkout, join_in_browser
from tests.web.members import PASSWORD, last_code


def _card_of(db, email: str) -> str:  # type: ignore[no-untyped-def]
    """Read in a transaction of its own, ended at once: SQLite lets one writer in at a time,
    and the server's next write would wait for it."""
    db.rollback()
    number = db.scalar(select(Card.number).join(Member).where(Member.email == email))
    db.rollback()
    return number


def test_a_member_joins_and_sees_the_points_of_a_checkout(phone, db, mailbox, served, shoot):
    till = a_store_with_a_till(db)
    join_in_browser(phone, mailbox, "mariam@example.net", "Mariam Saleh")
    assert phone.text_content("[data-testid=balance]").strip() == "0"
    card = _card_of(db, "mariam@example.net")
    sale = checkout(served, till, card, 4_250)  # AED 42.50: 42 points
    assert sale["points_earned"] == 42, sale
    phone.reload()
    assert phone.text_content("[data-testid=balance]").strip() == "42"
    row = phone.locator("tbody tr").first
    assert "Marina Mall" in row.text_content()
    assert "42.50" in row.text_content()
    shoot(phone, "portal-account-en")


def test_arabic_reads_right_to_left_and_persian_in_persian_digits(open_page, db, mailbox,
                                                                 served, shoot):
    till = a_store_with_a_till(db)
    page = open_page("ar")
    page.goto("/my/join?lang=ar")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    # The brand sits at the right-hand end of the bar, the language links at the left.
    brand = page.locator(".brand").bounding_box()
    assert brand["x"] > 360 / 2
    assert "انضم إلى مكافآت الواحة" in page.text_content("h1")
    shoot(page, "portal-join-ar")

    join_in_browser(page, mailbox, "reza@example.net", "رضا احمدی", language="fa")
    checkout(served, till, _card_of(db, "reza@example.net"), 12_345)  # 123 points
    page.goto("/my/?lang=fa")
    assert page.get_attribute("html", "lang") == "fa"
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.text_content("[data-testid=balance]").strip() == "۱۲۳"
    assert "سلام، رضا احمدی" in page.text_content("h1")
    day = page.locator("tbody time").first
    assert re.search("[۰-۹]{4}", day.text_content())  # a Solar Hijri year in Persian digits
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", day.get_attribute("datetime"))
    # Remembered: the next page without ?lang is Persian still.
    page.goto("/my/")
    assert page.get_attribute("html", "lang") == "fa"
    shoot(page, "portal-account-fa")


def test_a_form_posted_without_its_csrf_token_is_refused(phone, db):
    phone.goto("/my/join")
    phone.fill("#name", "Mallory")
    phone.fill("#contact", "mallory@example.net")
    phone.fill("#password", "grape harbour 19")
    # What a forged cross-site form would lack: the token.
    phone.evaluate("document.querySelector('input[name=csrf_token]').remove()")
    with phone.expect_response(lambda r: r.url.endswith("/my/join")) as answer:
        phone.click("form[action$='/my/join'] button[type=submit]")
    assert answer.value.status == 400
    assert "This form has expired" in phone.text_content("main")
    assert db.scalar(select(Member.id)) is None


def test_a_member_cannot_see_another_members_anything(open_page, db, mailbox, served):
    till = a_store_with_a_till(db)
    mariam, omar = open_page(), open_page()
    join_in_browser(mariam, mailbox, "mariam@example.net", "Mariam Saleh")
    join_in_browser(omar, mailbox, "omar@example.net", "Omar Farouk")
    checkout(served, till, _card_of(db, "omar@example.net"), 99_900)
    omar_card = _card_of(db, "omar@example.net")
    mariam.reload()
    page = mariam.text_content("main")
    assert "Omar" not in page and omar_card not in page and "999" not in page
    assert mariam.text_content("[data-testid=balance]").strip() == "0"
    # Signed out, the account is not shown to anyone.
    mariam.click(".sign-out button")
    mariam.goto("/my/")
    assert mariam.url.endswith("/my/sign-in")


def test_a_member_claims_a_plastic_card(phone, db, settings, mailbox, served, shoot):
    till = a_store_with_a_till(db)
    (number, code), = stock_plastic_cards(db, 1, prefix=settings.card_prefix,
                                         length=settings.card_length)
    db.commit()
    checkout(served, till, number, 1_000)  # used at the till before anyone claimed it
    phone.goto("/my/join")
    phone.click("a[href$='/my/claim']")
    phone.fill("#number", number)
    phone.fill("#claim-code", code)
    phone.fill("#name", "Hala Nasser")
    phone.fill("#contact", "hala@example.net")
    phone.fill("#password", PASSWORD)
    shoot(phone, "portal-claim-en")
    phone.click("form[action$='/my/claim'] button[type=submit]")
    phone.wait_for_url("**/my/verify")
    phone.fill("#code", last_code(mailbox, "hala@example.net"))
    phone.click("form[action$='/my/verify'] button[type=submit]")
    phone.wait_for_url("**/my/")
    assert phone.text_content("[data-testid=balance]").strip() == "10"
    assert number in phone.text_content("main")


def test_the_digital_card_scans_from_the_screen(phone, db, mailbox, shoot):
    import zxingcpp
    from PIL import Image

    join_in_browser(phone, mailbox, "mariam@example.net", "Mariam Saleh")
    phone.click("a[href$='/my/card']")
    phone.wait_for_url("**/my/card")
    number = _card_of(db, "mariam@example.net")
    path = shoot(phone, "portal-card-en")
    # What a till's 2D scanner would see: the whole screen, QR code and barcode both on it.
    found = {(d.format.name, d.text) for d in zxingcpp.read_barcodes(Image.open(path))}
    assert ("QRCode", number) in found and ("Code128", number) in found
