"""``loyalty insight model`` on the CDNOW sample imported by ``loyalty import baskets``, the
rebuild that uses the fit, and ``loyalty insight export``."""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest
from sqlalchemy import select

from loyalty.insight.models import BtydFit, MemberInsight
from loyalty.members.models import Member
from tests.factories import invoke_cli, make_store
from tests.insight.cdnow import PUBLISHED, transactions
from tests.insight.helpers import add_members

HEADER = ["member_ref", "recency_days", "frequency", "monetary_minor", "r", "f", "m", "segment",
          "p_alive", "expected_purchases_90d", "expected_value_minor"]


def _load_cdnow(app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The sample through ``loyalty import baskets``, as a retailer brings history in: each
    line of the file a basket of one line, at noon UTC on its day."""
    path = tmp_path / "cdnow.csv"
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["member_ref", "basket_id", "occurred_at", "store", "sku", "quantity",
                      "amount_minor"])
        for n, (customer, day, cents) in enumerate(transactions()):
            out.writerow([customer, f"cdnow-{n}", f"{day.isoformat()}T12:00:00+00:00", "CDNOW",
                          "CD", 1, cents])
    result = invoke_cli(app, ["import", "baskets", str(path), "--create-missing",
                              "--currency", "USD"])
    assert result.exit_code == 0, result.output


@pytest.fixture
def cdnow(app, tmp_path):  # type: ignore[no-untyped-def]
    _load_cdnow(app, tmp_path)


def test_model_reproduces_the_published_fit_from_the_imported_history(app, db, cdnow):
    result = invoke_cli(app, ["insight", "model", "--calibration-end", "1997-09-30",
                              "--time-unit", "week", "--json"])
    assert result.exit_code == 0, result.output
    fit = json.loads(result.output)
    assert set(fit) >= {"r", "alpha", "a", "b", "p", "q", "v", "log_likelihood"}
    assert fit["customers"] == 2357
    for name, published in PUBLISHED.items():
        assert fit[name] == pytest.approx(published, rel=0.01), name
    assert fit["log_likelihood"] == pytest.approx(-9582.4, abs=0.1)
    assert fit["v"] / 100 == pytest.approx(15.44, rel=0.01)
    assert db.scalar(select(BtydFit.customers)) == 2357
    db.rollback()

    # the rebuild as of the calibration end fills churn and value from the stored fit
    rebuilt = invoke_cli(app, ["insight", "rebuild", "--as-of", "1997-09-30"])
    assert rebuilt.exit_code == 0, rebuilt.output
    rows = db.scalars(select(MemberInsight)).all()
    assert len(rows) == 2357
    assert all(0 < row.p_alive <= 1 and row.expected_purchases_90d > 0 for row in rows)
    assert all(row.expected_value_minor >= 0 for row in rows)  # a lapsed big spender: 0
    assert sum(row.expected_value_minor > 0 for row in rows) > 2000
    assert {row.segment for row in rows} >= {"Champions", "Lost"}


def test_model_text_output_and_bad_input(app, cdnow):
    result = invoke_cli(app, ["insight", "model", "--calibration-end", "1997-09-30"])
    assert result.exit_code == 0, result.output
    assert "alpha" in result.output and "log_likelihood" in result.output
    early = invoke_cli(app, ["insight", "model", "--calibration-end", "1990-01-01"])
    assert early.exit_code == 1
    assert "no customers" in early.output
    bad = invoke_cli(app, ["insight", "model", "--calibration-end", "tomorrow"])
    assert bad.exit_code == 2


def test_export_one_row_per_member(app, db, tmp_path):
    members = add_members(db, 3)
    store = make_store(db, "AED")
    from tests.insight.helpers import add_baskets

    add_baskets(db, store.id, [
        (members[0], dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC), [("A", None, 300)]),
        (members[0], dt.datetime(2026, 1, 9, 9, tzinfo=dt.UTC), [("A", None, 200)]),
        (members[1], dt.datetime(2026, 1, 2, 9, tzinfo=dt.UTC), [("A", None, 150)]),
    ])
    db.get(Member, members[1]).external_ref = "CUST-0001"  # the retailer's own id, imported
    db.commit()
    out = tmp_path / "insight.csv"
    result = invoke_cli(app, ["insight", "export", str(out), "--as-of", "2026-01-10"])
    assert result.exit_code == 0, result.output
    with out.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == HEADER
    by_ref = {row[0]: dict(zip(HEADER, row, strict=True)) for row in rows[1:]}
    assert set(by_ref) == {f"id:{members[0]}", "CUST-0001", f"id:{members[2]}"}
    first = by_ref[f"id:{members[0]}"]  # enrolled without a reference
    assert (first["recency_days"], first["frequency"], first["monetary_minor"]) == ("1", "2",
                                                                                     "500")
    assert first["segment"] and first["r"] == "3"  # 1 + 5 * (2 - 1) // 2: two members
    assert by_ref["CUST-0001"]["r"] == "1"
    assert first["p_alive"] == ""  # no model fitted
    assert by_ref[f"id:{members[2]}"]["frequency"] == ""  # never bought
