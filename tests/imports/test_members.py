"""``loyalty import members`` and the member reference in the API."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from loyalty.audit.models import AuditEvent
from loyalty.members.models import Channel, ConsentRecord, Member
from tests.factories import StaffDesk, invoke_cli, make_store
from tests.imports.conftest import counts

HEADER = ("reference,name,phone,email,birth_date,gender,language,preferred_channel,"
          "consent_email,consent_email_date,consent_sms,consent_sms_date\n")
ROWS = (
    "C1,Layla Haddad,+971501234567,layla@example.com,1990-04-02,female,ar,email,"
    "yes,2023-05-01,no,2023-05-01\n"
    "C2,Omid Rahimi,,,,male,fa,sms,,,yes,2024-01-10T09:30:00+04:00\n"
)
BAD = (
    "C3,Bad Phone,050 123,,,,,,,,,\n"                          # line 4: no country code
    "C4,Bad Date,,,1990-02-30,,,,,,,\n"                        # line 5: no such day
    ",No Reference,,,,,,,,,,\n"                                # line 6
    "C5,Consent Undated,,,,,,,yes,,,\n"                        # line 7
    "C6,Same Email,,layla@example.com,,,,,,,,\n"               # line 8: C1's email
)


def _write(tmp_path, body: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "members.csv"
    path.write_text(body, encoding="utf-8")
    return path


def _members(db) -> dict[str, tuple]:  # type: ignore[no-untyped-def]
    db.expire_all()
    members = {
        m.external_ref: (m.name, m.phone, m.email, m.birth_date, m.gender, m.language,
                         m.preferred_channel.value,
                         sorted((c.channel.value, c.granted, c.recorded_at, c.source)
                                for c in m.consents))
        for m in db.scalars(select(Member))
    }
    db.rollback()
    return members


def test_import_creates_members_with_consents_and_a_rerun_changes_nothing(app, db, tmp_path):
    path = _write(tmp_path, HEADER + ROWS + BAD)
    first = invoke_cli(app, ["import", "members", str(path)])
    assert first.exit_code == 1, first.output
    for line, reason in {
        4: "phone is not a valid international number (+country code)",
        5: "birth_date '1990-02-30' is not a date (YYYY-MM-DD)",
        6: "missing reference",
        7: "missing consent_email_date",
        8: "another member has this email",
    }.items():
        assert f"members.csv: line {line}: {reason}" in first.output, (line, first.output)
    assert "created 2, rejected 5" in first.output
    may_2023 = dt.datetime(2023, 5, 1, tzinfo=dt.UTC)
    assert _members(db) == {
        "C1": ("Layla Haddad", "+971501234567", "layla@example.com", dt.date(1990, 4, 2),
               "female", "ar", "email",
               [("email", True, may_2023, "import"), ("sms", False, may_2023, "import")]),
        "C2": ("Omid Rahimi", None, None, None, "male", "fa", "sms",
               [("sms", True, dt.datetime(2024, 1, 10, 5, 30, tzinfo=dt.UTC), "import")]),
    }
    rows_before = counts(db)

    again = invoke_cli(app, ["import", "members", str(_write(tmp_path, HEADER + ROWS))])
    assert again.exit_code == 0, again.output
    assert "unchanged 2" in again.output
    assert counts(db) == rows_before
    assert len(_members(db)["C1"][7]) == 2


def test_a_later_file_updates_and_an_older_decision_never_overrides(app, db, tmp_path):
    invoke_cli(app, ["import", "members", str(_write(tmp_path, HEADER + ROWS))])
    later = (HEADER
             # C1 withdraws email consent later, and moves to Persian.
             + "C1,Layla Haddad,,,,,fa,,no,2024-06-01,no,2022-01-01\n"
             # C2: an older sms withdrawal than the grant on record: the grant stands.
             + "C2,Omid Rahimi,,,,,,,,,no,2023-01-01\n")
    result = invoke_cli(app, ["import", "members", str(_write(tmp_path, later))])
    assert result.exit_code == 0, result.output
    assert "updated 1, unchanged 1" in result.output
    members = _members(db)
    assert members["C1"][5] == "fa" and members["C1"][1] == "+971501234567"  # empty: kept
    assert ("email", False, dt.datetime(2024, 6, 1, tzinfo=dt.UTC), "import") in members["C1"][7]
    assert [c[1] for c in members["C2"][7]] == [True]
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(ConsentRecord).where(
        ConsentRecord.channel == Channel.EMAIL)) == 2
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "member.update")) == 1
    db.rollback()


def test_the_api_shows_the_reference_and_takes_it_at_enrolment(client, db, tmp_path):
    desk = StaffDesk(db, make_store(db, "AED"))
    db.commit()
    headers = desk("store_manager")
    body = {"name": "Sara", "external_ref": "R-100"}
    created = client.post("/api/v1/members", json=body, headers=headers)
    assert created.status_code == 201, created.json
    member_id = created.json["member"]["id"]
    assert created.json["member"]["external_ref"] == "R-100"
    profile = client.get(f"/api/v1/members/{member_id}", headers=headers)
    assert profile.json["external_ref"] == "R-100"
    again = client.post("/api/v1/members", json={"name": "Other", "external_ref": "R-100"},
                        headers=headers)
    assert again.status_code == 409 and again.json["code_hint"] == "duplicate_external_ref"
    too_long = client.post("/api/v1/members", json={"name": "X", "external_ref": "R" * 65},
                           headers=headers)
    assert too_long.status_code == 422
    # The reference is the import's key, not a profile field staff edit.
    patch = client.patch(f"/api/v1/members/{member_id}", json={"external_ref": "R-2"},
                         headers=headers)
    assert patch.status_code == 422
