"""The members' portal through its forms: joining, confirming, signing in by password or code,
resetting the password, and the account page; each member sees their own account only."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from loyalty.accounts.models import MemberLogin, OneTimeCode
from loyalty.accounts.passwords import check_password
from loyalty.audit.models import AuditEvent
from loyalty.cards.models import Card
from loyalty.errors import InvalidInput
from loyalty.members.models import Member
from tests.web.forms import csrf_token, post_form
from tests.web.members import PASSWORD, join_and_verify, last_code


def test_joining_issues_a_card_and_needs_the_mailed_code(client, db, mailbox):
    resp = post_form(client, "/my/join", {"name": "Mariam Saleh",
                                          "contact": "Mariam@Example.net", "password": PASSWORD})
    assert resp.status_code == 302
    member = db.scalar(select(Member).where(Member.email == "mariam@example.net"))
    assert member is not None
    assert db.scalar(select(Card.number).where(Card.member_id == member.id))
    login = db.scalar(select(MemberLogin).where(MemberLogin.member_id == member.id))
    assert login.verified_at is None and login.password_hash.startswith("$argon2id$")
    db.rollback()  # end the read: SQLite lets one writer in at a time
    # Not usable before the code comes back: the password alone does not sign in.
    client.delete_cookie("session")
    refused = post_form(client, "/my/sign-in", {"contact": "mariam@example.net",
                                                "password": PASSWORD})
    assert refused.status_code == 401
    mail = mailbox.received[-1]
    assert mail["To"] == "mariam@example.net"
    assert last_code(mailbox, "mariam@example.net") not in str(
        db.scalar(select(OneTimeCode.code_hash)))  # only a hash is kept


def test_a_member_signs_in_after_confirming_and_sees_the_account(client, mailbox):
    join_and_verify(client, mailbox, "mariam@example.net")
    page = client.get("/my/?lang=en").get_data(as_text=True)
    assert "Hello, Mariam Saleh" in page and "No baskets yet" in page
    post_form(client, "/my/", {}, "/my/sign-out")
    assert client.get("/my/").status_code == 302
    resp = post_form(client, "/my/sign-in", {"contact": "mariam@example.net",
                                             "password": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/my/")
    assert client.get("/my/").status_code == 200


def test_a_wrong_code_is_refused_and_counts(client, db, mailbox):
    post_form(client, "/my/join", {"name": "Mariam", "contact": "m@example.net",
                                   "password": PASSWORD})
    right = last_code(mailbox, "m@example.net")
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert post_form(client, "/my/verify", {"code": wrong}).status_code == 401
    # Five wrong tries spent the code: the right one no longer works.
    assert post_form(client, "/my/verify", {"code": right}).status_code == 401
    db.expire_all()
    assert db.scalar(select(OneTimeCode.failed_attempts)) == 5


def test_sign_in_with_a_mailed_code(client, mailbox):
    join_and_verify(client, mailbox, "mariam@example.net")
    client.delete_cookie("session")
    sent = post_form(client, "/my/sign-in", {"contact": "mariam@example.net"},
                     "/my/sign-in/code/send")
    assert sent.headers["Location"].endswith("/my/sign-in/code")
    code = last_code(mailbox, "mariam@example.net")
    resp = post_form(client, "/my/sign-in/code", {"code": code})
    assert resp.status_code == 302 and client.get("/my/").status_code == 200
    # Used once.
    client.delete_cookie("session")
    post_form(client, "/my/sign-in", {"contact": "mariam@example.net"}, "/my/sign-in/code/send")
    assert post_form(client, "/my/sign-in/code", {"code": code}).status_code == 401


def test_asking_a_code_for_a_stranger_looks_the_same_and_sends_nothing(client, mailbox):
    resp = post_form(client, "/my/sign-in", {"contact": "nobody@example.net"},
                     "/my/sign-in/code/send")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/my/sign-in/code")
    assert mailbox.received == []


def test_password_reset(client, mailbox):
    join_and_verify(client, mailbox, "mariam@example.net")
    client.delete_cookie("session")
    post_form(client, "/my/reset/send", {"contact": "mariam@example.net"})
    code = last_code(mailbox, "mariam@example.net")
    weak = post_form(client, "/my/reset", {"code": code, "password": "password1"})
    assert weak.status_code == 422 and "too common" in weak.get_data(as_text=True)
    done = post_form(client, "/my/reset", {"code": code, "password": "new saffron 77"})
    assert done.status_code == 302
    client.delete_cookie("session")
    assert post_form(client, "/my/sign-in", {"contact": "mariam@example.net",
                                             "password": PASSWORD}).status_code == 401
    assert post_form(client, "/my/sign-in", {"contact": "mariam@example.net",
                                             "password": "new saffron 77"}).status_code == 302


@pytest.mark.parametrize("password", ["short", "x" * 129, "qwerty123", "Password1 "])
def test_passwords_too_short_too_long_or_common_are_refused(password):
    with pytest.raises(InvalidInput):
        check_password(password)


def test_a_long_uncommon_password_is_accepted():
    check_password("y" * 64 + " plum")


def test_join_refusals_say_why_and_change_nothing(client, db, mailbox):
    cases = [({"name": "", "contact": "a@example.net", "password": PASSWORD}, "Enter your name"),
             ({"name": "A", "contact": "not a contact", "password": PASSWORD}, "country code"),
             ({"name": "A", "contact": "a@example.net", "password": "letmein1"}, "too common")]
    for form, says in cases:
        resp = post_form(client, "/my/join", form)
        assert resp.status_code == 422 and says in resp.get_data(as_text=True)
    assert db.scalar(select(Member.id)) is None and mailbox.received == []


def test_a_form_without_its_csrf_token_is_refused(client, db):
    csrf_token(client, "/my/join")  # the browser has a session and a token, and leaves it out
    resp = client.post("/my/join", data={"name": "Mallory", "contact": "m@example.net",
                                         "password": PASSWORD})
    assert resp.status_code == 400 and "This form has expired" in resp.get_data(as_text=True)
    bad = client.post("/my/join", data={"name": "Mallory", "contact": "m@example.net",
                                        "password": PASSWORD, "csrf_token": "forged"})
    assert bad.status_code == 400
    assert db.scalar(select(Member.id)) is None


def test_the_staff_sign_in_form_needs_its_token_too(client):
    assert client.post("/sign-in", data={"username": "a", "password": "b"}).status_code == 400


def test_signing_in_rotates_the_session(client, mailbox):
    before = csrf_token(client, "/my/sign-in")
    join_and_verify(client, mailbox, "mariam@example.net")
    assert csrf_token(client, "/my/") != before


def test_pages_send_the_security_headers(client):
    resp = client.get("/my/sign-in")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in resp.headers  # plain http: a setting turns it on
    assert "<script>" not in resp.get_data(as_text=True)  # every script is a file


def test_https_setting_makes_cookies_secure_and_sends_hsts(settings):
    from dataclasses import replace

    from loyalty.app import create_app

    app = create_app(replace(settings, https=True))
    client = app.test_client()
    resp = client.get("/my/sign-in", base_url="https://localhost")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Secure" in resp.headers["Set-Cookie"] and "HttpOnly" in resp.headers["Set-Cookie"]
    app.extensions["loyalty.db"].engine.dispose()


def test_sign_in_is_audited(client, db, mailbox):
    join_and_verify(client, mailbox, "mariam@example.net")
    actions = set(db.scalars(select(AuditEvent.action)))
    assert {"account.join", "account.verify", "account.sign_in"} <= actions


def test_a_member_sees_only_their_own_account(client, app, db, mailbox, settings):
    join_and_verify(client, mailbox, "mariam@example.net", name="Mariam Saleh")
    other = app.test_client()
    join_and_verify(other, mailbox, "omar@example.net", name="Omar Farouk")
    mine = client.get("/my/?lang=en").get_data(as_text=True)
    theirs = other.get("/my/?lang=en").get_data(as_text=True)
    cards = dict(db.execute(select(Member.name, Card.number).join(Card)).all())
    omar = db.scalar(select(Member.id).where(Member.name == "Omar Farouk"))
    db.rollback()  # end the read: SQLite lets one writer in at a time
    assert "Mariam Saleh" in mine and cards["Mariam Saleh"] in mine
    assert "Omar Farouk" not in mine and cards["Omar Farouk"] not in mine
    assert "Mariam Saleh" not in theirs and cards["Mariam Saleh"] not in theirs
    # Nothing in an address picks the member: a query or a path naming another is ignored.
    for url in (f"/my/?member_id={omar}", f"/my/{omar}"):
        page = client.get(url)
        assert "Omar Farouk" not in page.get_data(as_text=True)


def test_a_session_older_than_the_limit_signs_out(client, app, mailbox, settings):
    join_and_verify(client, mailbox, "mariam@example.net")
    with client.session_transaction() as session:
        session["member_since"] -= int(dt.timedelta(days=31).total_seconds())
    assert client.get("/my/").status_code == 302


def test_the_chosen_language_is_remembered(client):
    chosen = client.get("/my/sign-in?lang=ar")
    assert "lang=ar" in chosen.headers["Set-Cookie"]
    later = client.get("/my/sign-in", headers={"Accept-Language": "en"})
    assert 'lang="ar" dir="rtl"' in later.get_data(as_text=True)


def test_a_members_own_language_is_their_default_once_signed_in(client, app, mailbox):
    post_form(client, "/my/join?lang=fa", {"name": "Reza", "contact": "reza@example.net",
                                           "password": PASSWORD}, "/my/join?lang=fa")
    post_form(client, "/my/verify", {"code": last_code(mailbox, "reza@example.net")})
    elsewhere = app.test_client()  # another browser, English by its own settings
    english = {"Accept-Language": "en"}
    assert 'lang="en"' in elsewhere.get("/my/sign-in", headers=english).get_data(as_text=True)
    token = csrf_token(elsewhere, "/my/sign-in")
    signed_in = elsewhere.post("/my/sign-in", data={"contact": "reza@example.net",
                                                    "password": PASSWORD, "csrf_token": token})
    assert "lang=fa" in signed_in.headers["Set-Cookie"]
    page = elsewhere.get("/my/", headers=english).get_data(as_text=True)
    assert 'lang="fa" dir="rtl"' in page and "سلام، Reza" in page


def test_the_card_images_are_the_signed_in_members_own(client, app, db, mailbox):
    import io

    import zxingcpp
    from PIL import Image

    join_and_verify(client, mailbox, "mariam@example.net")
    number = db.scalar(select(Card.number))
    db.rollback()
    assert number in client.get("/my/card").get_data(as_text=True)
    for kind in ("qr", "barcode"):
        image = client.get(f"/my/card/{kind}.png")
        assert image.mimetype == "image/png" and "no-store" in image.headers["Cache-Control"]
        decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)))
        assert [d.text for d in decoded] == [number]
    stranger = app.test_client()
    assert stranger.get("/my/card/qr.png").status_code == 404
    assert stranger.get("/my/card").status_code == 302
