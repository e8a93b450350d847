"""``loyalty import balances``: opening balances through the ledger, once, and the ledger
still verifies."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from loyalty.ledger.models import Account, Lot, Posting, PostingKind
from loyalty.members.models import Member
from tests.factories import invoke_cli, make_member
from tests.imports.conftest import counts


def _write(tmp_path, body: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "balances.csv"
    path.write_text(body, encoding="utf-8")
    return path


def _ledger(db) -> dict[str, tuple]:  # type: ignore[no-untyped-def]
    """Per reference: balance, and the opening postings with their lots' expiry dates."""
    db.expire_all()
    result = {}
    for member in db.scalars(select(Member)):
        account = db.scalar(select(Account).where(Account.member_id == member.id))
        postings = [
            (p.kind.value, p.reason,
             [(lot.points, lot.expires_at.date()) for lot in db.scalars(
                 select(Lot).where(Lot.posting_id == p.id))])
            for p in db.scalars(select(Posting).where(Posting.member_id == member.id))
        ]
        result[member.external_ref] = (account.balance, postings)
    db.rollback()
    return result


def test_opening_balances_post_once_and_the_ledger_verifies(app, db, settings, tmp_path):
    for ref in ("C1", "C2", "C3"):
        make_member(db, settings, name=f"Member {ref}", external_ref=ref)
    db.commit()
    in_a_year = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=365)
    body = ("reference,points,expiry\n"
            f"C1,1500,{in_a_year.isoformat()}\n"
            "C2,200,\n"
            "C9,100,\n"                          # line 4: unknown reference
            "C3,-5,\n"                           # line 5: negative
            "C3,12.5,\n"                         # line 6: not whole
            "C3,10,2020-01-01\n")                # line 7: expired already
    path = _write(tmp_path, body)
    first = invoke_cli(app, ["import", "balances", str(path)])
    assert first.exit_code == 1, first.output
    for line, reason in {4: "unknown member reference 'C9'", 5: "negative points -5",
                         6: "points '12.5' is not a whole number",
                         7: "expiry 2020-01-01 is not after today"}.items():
        assert f"balances.csv: line {line}: {reason}" in first.output, (line, first.output)
    assert "posted 2, rejected 4" in first.output
    today = dt.datetime.now(dt.UTC).date()
    default_expiry = today + dt.timedelta(days=settings.points_lifetime_days)
    ledger = _ledger(db)
    assert ledger == {
        "C1": (1500, [("adjust", "opening balance", [(1500, in_a_year)])]),
        "C2": (200, [("adjust", "opening balance", [(200, default_expiry)])]),
        "C3": (0, []),
    }
    assert invoke_cli(app, ["ledger", "verify"]).exit_code == 0

    before = counts(db)
    again = invoke_cli(app, ["import", "balances", str(_write(
        tmp_path, f"reference,points,expiry\nC1,1500,{in_a_year.isoformat()}\nC2,250,\n"))])
    assert again.exit_code == 1
    assert "already posted 1, rejected 1" in again.output
    assert ("balances.csv: line 3: member 'C2' already has an opening balance of 200 points "
            "(this file says 250); left as it is") in again.output
    assert counts(db) == before and _ledger(db) == ledger
    verify = invoke_cli(app, ["ledger", "verify"])
    assert verify.exit_code == 0, verify.output
    db.expire_all()
    assert db.scalar(select(Posting.kind).where(Posting.reason == "opening balance")) == (
        PostingKind.ADJUST)
    db.rollback()


def test_a_balances_file_without_points_changes_nothing(app, db, settings, tmp_path):
    make_member(db, settings, external_ref="C1")
    db.commit()
    before = counts(db)
    result = invoke_cli(app, ["import", "balances", str(_write(tmp_path, "reference,expiry\n"))])
    assert result.exit_code == 1
    assert "balances.csv lacks the column(s) points" in result.output
    assert counts(db) == before
