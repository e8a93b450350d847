"""``loyalty rules add/list/end`` against the test database."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from loyalty.audit.models import AuditEvent
from loyalty.db import utcnow
from loyalty.rules.models import EarningRule, RuleKind
from tests.factories import invoke_cli


def rules(db) -> list[EarningRule]:  # type: ignore[no-untyped-def]
    db.rollback()
    found = list(db.scalars(select(EarningRule).order_by(EarningRule.id)))
    db.commit()  # end the read (nothing to write): on SQLite it holds the write lock
    return found


def test_add_list_and_end_rules(app, db, chain, catalog):
    base = invoke_cli(app, ["rules", "add", "base", "1 point per dirham", "--currency", "AED",
                            "--points-per-unit", "1", "--min-spend-minor", "1000"])
    assert base.exit_code == 0, base.output
    produce = invoke_cli(app, ["rules", "add", "category", "Double grocery", "--category",
                               "grocery", "--multiplier-permille", "2000"])
    store = invoke_cli(app, ["rules", "add", "store", "Opening week", "--store", "DXB",
                             "--multiplier-permille", "1500", "--to", "2099-01-01T00:00Z"])
    tobacco = invoke_cli(app, ["rules", "add", "exclusion", "No points on tobacco",
                               "--category", "tobacco"])
    assert [r.exit_code for r in (produce, store, tobacco)] == [0, 0, 0], store.output
    saved = rules(db)
    assert [(r.kind, r.currency, r.min_spend_minor, r.multiplier_permille) for r in saved] == [
        (RuleKind.BASE, "AED", 1000, 1000), (RuleKind.CATEGORY, None, 0, 2000),
        (RuleKind.STORE, None, 0, 1500), (RuleKind.EXCLUSION, None, 0, 1000)]
    assert saved[1].category_id == catalog["grocery"]
    assert saved[2].store_id == chain.store.id
    assert saved[2].valid_to == dt.datetime(2099, 1, 1, tzinfo=dt.UTC)

    listed = invoke_cli(app, ["rules", "list"])
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert len(lines) == 4
    assert "x2" in lines[1] and "category grocery" in lines[1]
    assert "store DXB" in lines[2] and "no points" in lines[3]

    ended = invoke_cli(app, ["rules", "end", str(saved[1].id)])
    assert ended.exit_code == 0, ended.output
    assert "Double grocery" not in invoke_cli(app, ["rules", "list"]).output
    assert "Double grocery" in invoke_cli(app, ["rules", "list", "--all"]).output
    again = invoke_cli(app, ["rules", "end", str(saved[1].id)])
    assert again.exit_code == 1 and "already ended" in again.output
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.actor == "cli")
                         .where(AuditEvent.action.like("rule.%"))).all()
    assert actions.count("rule.add") == 4 and actions.count("rule.end") == 1


@pytest.mark.parametrize(("args", "message"), [
    (["base", "x", "--points-per-unit", "-2"], "not negative"),
    (["base", "x", "--points-per-unit", "1", "--sku", "MILK"], "does not take sku"),
    (["category", "x", "--category", "nope"], "no category 'nope'"),
    (["store", "x", "--store", "NOPE", "--multiplier-permille", "2000"], "no store 'NOPE'"),
    (["product", "x", "--sku", "NOPE"], "no product with SKU 'NOPE'"),
    (["base", "x", "--from", "2030-01-01T00:00"], "needs a timezone offset"),
    (["base", "x", "--from", "0001-01-01T00:00+05:00"], "must fall between 1970 and 2200"),
    (["base", "x", "--multiplier-permille", "-5"], "does not take multiplier_permille"),
    (["category", "x", "--category", "grocery", "--multiplier-permille", "-5"],
     "cannot be negative"),
    (["bonus", "x"], "'bonus' is not one of"),
])
def test_add_refuses_bad_rules_and_writes_nothing(app, db, chain, catalog, args, message):
    result = invoke_cli(app, ["rules", "add", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert rules(db) == []


def test_overlapping_rule_is_refused_with_the_one_in_the_way(app, db, catalog):
    args = ["rules", "add", "category", "double", "--category", "grocery",
            "--multiplier-permille", "2000"]
    assert invoke_cli(app, args).exit_code == 0
    soon = (utcnow() + dt.timedelta(days=1)).isoformat()
    second = invoke_cli(app, [*args, "--from", soon])
    assert second.exit_code == 1
    assert "rule_overlaps" in second.output and "earning rule 1 ('double')" in second.output
