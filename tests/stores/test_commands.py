"""``loyalty store ...`` and ``loyalty till ...`` against the test database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from loyalty.stores.models import Store, Till
from tests.factories import auth, invoke_cli

QUOTE = "/api/v1/checkouts/quote"


def test_store_add_and_list(app, db):
    added = invoke_cli(app, ["store", "add", "DXB1", "Dubai Mall", "--currency", "aed",
                             "--timezone", "Asia/Dubai"])
    assert added.exit_code == 0, added.output
    store = db.scalar(select(Store).where(Store.code == "DXB1"))
    assert (store.name, store.currency, store.timezone) == ("Dubai Mall", "AED", "Asia/Dubai")
    db.commit()  # end the read: on SQLite a transaction holds the write lock (BEGIN IMMEDIATE)
    listed = invoke_cli(app, ["store", "list"])
    assert listed.exit_code == 0
    assert "DXB1" in listed.output and "Dubai Mall" in listed.output


@pytest.mark.parametrize(("args", "message"), [
    (["--currency", "ZZZ", "--timezone", "Asia/Dubai"], "unknown currency"),
    (["--currency", "AED", "--timezone", "Asia/Nowhere"], "unknown timezone"),
])
def test_store_add_refuses_bad_input(app, db, args, message):
    result = invoke_cli(app, ["store", "add", "BAD", "Bad", *args])
    assert result.exit_code == 1
    assert message in result.output
    assert db.scalars(select(Store)).all() == []


def test_store_add_twice_is_a_conflict(app, db):
    args = ["store", "add", "DXB1", "Dubai Mall", "--currency", "AED", "--timezone", "Asia/Dubai"]
    assert invoke_cli(app, args).exit_code == 0
    second = invoke_cli(app, args)
    assert second.exit_code == 1 and "conflict" in second.output
    assert len(db.scalars(select(Store)).all()) == 1


def test_till_add_prints_the_token_once_and_revoke_ends_it(app, client, db, chain):
    added = invoke_cli(app, ["till", "add", "DXB", "lane 1"])
    assert added.exit_code == 0, added.output
    token = added.stdout.strip()
    assert token.startswith("till_") and "\n" not in token  # stdout is the token alone
    assert "shown once" in added.stderr
    assert client.post(QUOTE, json={}, headers=auth(token)).status_code == 422

    till = db.scalar(select(Till).where(Till.name == "lane 1"))
    assert till.store_id == chain.store.id
    db.commit()  # end the read (SQLite: BEGIN IMMEDIATE holds the write lock)
    listed = invoke_cli(app, ["till", "list"])
    assert "lane 1" in listed.output and "active" in listed.output
    assert token not in listed.output and till.token_hash not in listed.output

    revoked = invoke_cli(app, ["till", "revoke", str(till.id)])
    assert revoked.exit_code == 0, revoked.output
    assert client.post(QUOTE, json={}, headers=auth(token)).status_code == 401
    assert "revoked" in invoke_cli(app, ["till", "list", "--store", "DXB"]).output


def test_till_list_filters_by_store(app, chain):
    invoke_cli(app, ["till", "add", "DXB", "dubai lane"])
    invoke_cli(app, ["till", "add", "AUH", "abu dhabi lane"])
    listed = invoke_cli(app, ["till", "list", "--store", "AUH"]).output
    assert "abu dhabi lane" in listed and "dubai lane" not in listed


def test_till_commands_name_what_is_missing(app, db, chain):
    unknown_store = invoke_cli(app, ["till", "add", "NOPE", "lane"])
    assert unknown_store.exit_code == 1 and "no store 'NOPE'" in unknown_store.output
    unknown_till = invoke_cli(app, ["till", "revoke", "4242"])
    assert unknown_till.exit_code == 1 and "no till 4242" in unknown_till.output
    assert db.scalars(select(Till)).all() == []
