"""Programme figures are for signed-in staff: the landing page asks anyone else to sign in."""

from __future__ import annotations

from sqlalchemy import select

from loyalty.staff.models import StaffSession
from loyalty.staff.services import deactivate_staff
from tests.factories import make_member
from tests.web.forms import post_form
from tests.web.signing_in import PASSWORD, sign_in_browser


def test_anyone_not_signed_in_is_sent_to_the_sign_in_page(client, db, settings):
    make_member(db, settings)
    db.commit()
    resp = client.get("/?lang=ar")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/sign-in?lang=ar")
    page = client.get("/sign-in?lang=ar").get_data(as_text=True)
    assert "تسجيل الدخول" in page and 'dir="rtl"' in page  # "Sign in", right to left
    assert "Members" not in page and "الأعضاء" not in page


def test_signed_in_staff_see_the_totals_and_can_sign_out(client, db):
    cookie = sign_in_browser(client, db)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    home = client.get("/?lang=en")
    assert home.status_code == 200 and "Points issued" in home.get_data(as_text=True)
    out = post_form(client, "/", {}, "/sign-out")
    assert out.status_code == 302 and out.headers["Location"].endswith("/sign-in")
    assert client.get("/").status_code == 302
    db.expire_all()
    assert db.scalar(select(StaffSession.ended_at)) is not None


def test_a_wrong_password_is_refused_in_the_language_of_the_page(client, db):
    sign_in_browser(client, db)
    post_form(client, "/", {}, "/sign-out")
    resp = post_form(client, "/sign-in?lang=fa", {"username": "noor", "password": "wrong one!"})
    assert resp.status_code == 401
    assert "نام کاربری یا گذرواژه نادرست است." in resp.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_a_deactivated_account_loses_the_page_at_once(client, db):
    sign_in_browser(client, db)
    assert client.get("/").status_code == 200
    deactivate_staff(db, "noor")
    db.commit()
    assert client.get("/").status_code == 302


def test_nonsense_in_the_form_is_a_wrong_sign_in_not_an_error(client, db):
    for form in ({}, {"username": "noor\x00", "password": PASSWORD},
                 {"username": "x" * 500, "password": PASSWORD}):
        assert post_form(client, "/sign-in", form).status_code == 401


def test_a_desk_left_idle_is_signed_out(client, db):
    sign_in_browser(client, db)
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:
        session["staff_seen"] -= 31 * 60  # LOYALTY_STAFF_IDLE_MINUTES is 30
    assert client.get("/").status_code == 302
    db.expire_all()
    assert db.scalar(select(StaffSession.ended_at)) is not None  # ended, not just forgotten
    sign_in_browser(client, db, username="noor2")
    assert client.get("/").status_code == 200  # a fresh sign-in works at once
