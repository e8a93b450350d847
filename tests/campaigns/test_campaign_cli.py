"""``loyalty campaign ...``: create from a file or options, list, show, launch, cancel; bad
input is one clear line, exit status 1, and nothing written (issue 9, sections 4 and 8)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from loyalty.campaigns.models import Campaign
from tests.campaigns.definitions import END, START, body
from tests.factories import invoke_cli


def _campaigns(db) -> int:  # type: ignore[no-untyped-def]
    n = db.scalar(select(func.count()).select_from(Campaign))
    db.rollback()
    return n


def test_create_list_show_launch_and_cancel(app, db, tmp_path):
    spec = tmp_path / "spring.json"
    spec.write_text(json.dumps(body()), encoding="utf-8")
    made = invoke_cli(app, ["campaign", "create", "--file", str(spec), "--holdout", "20"])
    assert made.exit_code == 0, made.output
    assert "campaign 1 'Spring dairy': draft" in made.output
    by_options = invoke_cli(app, [
        "campaign", "create", "--name", "Lapsed", "--kind", "win_back", "--currency", "AED",
        "--offer", '{"kind": "amount_off", "amount_minor": 500}', "--starts", "2027-03-01",
        "--ends", "2027-04-01", "--budget", "10000", "--limit", "2", "7"])
    assert by_options.exit_code == 0, by_options.output

    shown = json.loads(invoke_cli(app, ["campaign", "show", "1"]).output)
    assert shown["holdout_percent"] == 20 and shown["audience"] == body()["audience"]
    lapsed = json.loads(invoke_cli(app, ["campaign", "show", "2"]).output)
    assert (lapsed["member_limit_count"], lapsed["member_limit_days"]) == (2, 7)
    assert lapsed["starts_at"].startswith("2027-03-01T00:00:00")

    listed = invoke_cli(app, ["campaign", "list"])
    assert listed.exit_code == 0
    assert [line.split()[1] for line in listed.output.splitlines()] == ["draft", "draft"]

    launched = invoke_cli(app, ["campaign", "launch", "1"])
    assert launched.exit_code == 0, launched.output
    assert "campaign 1: scheduled" in launched.output
    again = invoke_cli(app, ["campaign", "launch", "1"])
    assert again.exit_code == 1 and "already_launched" in again.output
    assert "scheduled" in invoke_cli(app, ["campaign", "list", "--status", "scheduled"]).output
    assert invoke_cli(app, ["campaign", "cancel", "1"]).exit_code == 0
    assert json.loads(invoke_cli(app, ["campaign", "show", "1"]).output)["status"] == "cancelled"
    missing = invoke_cli(app, ["campaign", "show", "99"])
    assert missing.exit_code == 1 and "not_found" in missing.output


@pytest.mark.parametrize(("args", "code"), [
    (["--audience", '{"field": "shoe_size", "op": "=", "value": 1}'], "invalid_segment_rule"),
    (["--audience", '{"and": {}}'], "invalid_segment_rule"),
    (["--audience", '{"bought_category": 424242, "within_days": 5}'], "invalid_segment_rule"),
    (["--audience", '{"field": "home_store", "op": "=", "value": 424242}'],
     "invalid_segment_rule"),
    (["--starts", END.isoformat(), "--ends", START.isoformat()], "invalid_input"),
    (["--budget", "-1"], "invalid_input"),
    (["--offer", '{"kind": "percent_off", "percent": 150}'], "invalid_input"),
    (["--offer", '{"kind": "amount_off", "amount_minor": 5, "currency": "USD"}'],
     "currency_mismatch"),
])
def test_bad_input_is_one_clear_line_and_writes_nothing(app, db, tmp_path, args, code):
    spec = tmp_path / "base.json"
    spec.write_text(json.dumps(body()), encoding="utf-8")
    result = invoke_cli(app, ["campaign", "create", "--file", str(spec), *args])
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: {code}:"), result.output
    assert len(result.output.strip().splitlines()) == 1
    assert _campaigns(db) == 0


def test_a_file_that_is_not_a_json_object_is_refused(app, db, tmp_path):
    for text in ("not json", "[1, 2]"):
        spec = tmp_path / "bad.json"
        spec.write_text(text, encoding="utf-8")
        result = invoke_cli(app, ["campaign", "create", "--file", str(spec)])
        assert result.exit_code == 1 and str(spec) in result.output
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({**body(), "colour": "red"}), encoding="utf-8")
    result = invoke_cli(app, ["campaign", "create", "--file", str(unknown)])
    assert result.exit_code == 1 and "colour" in result.output
    assert _campaigns(db) == 0
