"""Self-service on the portal: name, language and channel; marketing consent per channel,
withdrawn as easily as given, each decision recorded with the text's version."""

from __future__ import annotations

from sqlalchemy import select

from loyalty.members.models import ConsentRecord, Member
from tests.web.forms import post_form
from tests.web.members import join_and_verify


def test_a_member_edits_name_language_and_channel(client, db, mailbox):
    join_and_verify(client, mailbox, "mariam@example.net")
    resp = post_form(client, "/my/profile", {"name": "Mariam S.", "language": "ar",
                                             "preferred_channel": "email"})
    assert resp.status_code == 302 and "lang=ar" in resp.headers["Set-Cookie"]
    member = db.scalar(select(Member))
    assert (member.name, member.language, member.preferred_channel.value) == \
        ("Mariam S.", "ar", "email")
    db.rollback()
    page = client.get("/my/profile").get_data(as_text=True)
    assert 'lang="ar"' in page and "تم الحفظ" not in page


def test_nonsense_in_the_profile_changes_nothing(client, db, mailbox):
    join_and_verify(client, mailbox, "mariam@example.net")
    for form in ({"name": "", "language": "en", "preferred_channel": "email"},
                 {"name": "M", "language": "xx", "preferred_channel": "email"},
                 {"name": "M", "language": "en", "preferred_channel": "pigeon"},
                 {"name": "M\x00", "language": "en", "preferred_channel": "email"}):
        assert post_form(client, "/my/profile", form).status_code == 422
    assert db.scalar(select(Member.name)) == "Mariam Saleh"


def test_consent_given_and_withdrawn_with_one_button_each(client, db, mailbox):
    join_and_verify(client, mailbox, "mariam@example.net")
    assert "not allowed" in client.get("/my/profile?lang=en").get_data(as_text=True)
    post_form(client, "/my/profile", {"channel": "email", "granted": "yes"}, "/my/consent")
    page = client.get("/my/profile?lang=en").get_data(as_text=True)
    assert "<strong>By email</strong>: allowed" in page
    post_form(client, "/my/profile", {"channel": "email", "granted": "no"}, "/my/consent")
    records = db.scalars(select(ConsentRecord).order_by(ConsentRecord.id)).all()
    assert [(r.channel.value, r.granted, r.text_version, r.source) for r in records] == [
        ("email", True, "portal-1", "portal"), ("email", False, "portal-1", "portal")]


def test_consent_needs_a_signed_in_member_and_a_known_channel(client, app, db, mailbox):
    stranger = app.test_client()
    assert post_form(stranger, "/my/sign-in", {"channel": "email", "granted": "yes"},
                     "/my/consent").status_code == 302
    join_and_verify(client, mailbox, "mariam@example.net")
    assert post_form(client, "/my/profile", {"channel": "fax", "granted": "yes"},
                     "/my/consent").status_code == 400
    assert db.scalar(select(ConsentRecord.id)) is None
