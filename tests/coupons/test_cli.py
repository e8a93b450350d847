"""``loyalty coupon ...`` and the signing key's life outside the embedded default."""

from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from loyalty.audit.models import AuditEvent
from loyalty.cli import Context, main
from loyalty.coupons.codes import normalise_code
from loyalty.coupons.models import Coupon, OfferKind
from loyalty.stores.models import Store


@pytest.fixture
def run(app):  # type: ignore[no-untyped-def]
    ctx = Context()
    ctx._app = app
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args), obj=ctx)


def test_issue_by_hand_from_the_command_line(run, db, shop):
    store_code = db.get(Store, shop.store_id).code
    db.rollback()
    result = run("coupon", "issue", "--member", str(shop.member_id), "--amount-minor", "500",
                 "--category", "grocery", "--store", store_code, "--min-spend-minor", "2000",
                 "--days", "14")
    assert result.exit_code == 0, result.output
    shown = result.output.split()[0]
    coupon = db.scalar(select(Coupon).where(Coupon.code == normalise_code(shown)))
    assert coupon is not None
    assert (coupon.kind, coupon.amount_minor, coupon.currency, coupon.category_id,
            coupon.store_id, coupon.min_spend_minor) == (
        OfferKind.AMOUNT_OFF, 500, "AED", shop.grocery_id, shop.store_id, 2000)
    assert (coupon.valid_to - coupon.valid_from).days == 14
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "coupon.issue"))
    assert event.actor == "cli"


def test_issue_a_points_multiplier_from_the_command_line(run, db, shop):
    result = run("coupon", "issue", "--member", str(shop.member_id), "--multiplier", "3",
                 "--category", "grocery")
    assert result.exit_code == 0, result.output
    coupon = db.scalar(select(Coupon).where(Coupon.code == normalise_code(
        result.output.split()[0])))
    assert (coupon.kind, coupon.multiplier, coupon.category_id) == (
        OfferKind.POINTS_MULTIPLIER, 3, shop.grocery_id)


@pytest.mark.parametrize(("args", "code", "says"), [
    (["--percent", "10", "--bonus-points", "5"], 2, "exactly one"),
    (["--multiplier", "2", "--bonus-points", "5"], 2, "exactly one"),
    (["--multiplier", "11"], 2, "2<=x<=10"),
    ([], 2, "exactly one"),
    (["--percent", "10", "--category", "nope"], 1, "no category"),
    (["--percent", "10", "--valid-from", "2026-01-01T00:00:00"], 2, "timezone"),
])
def test_bad_issue_commands_say_why_and_write_nothing(run, db, shop, args, code, says):
    result = run("coupon", "issue", "--member", str(shop.member_id), *args)
    assert result.exit_code == code
    assert says in result.output
    assert db.scalar(select(Coupon.id)) is None


def test_unknown_member(run, shop):
    result = run("coupon", "issue", "--member", "9999", "--percent", "10")
    assert result.exit_code == 1 and "not_found" in result.output


def test_keygen_then_public_key(run, client, settings):
    path = settings.coupon_key_path
    assert not path.exists()
    made = run("coupon", "keygen")
    assert made.exit_code == 0, made.output
    assert path.exists()
    assert run("coupon", "keygen").exit_code == 1  # never overwrites
    printed = run("coupon", "public-key")
    assert printed.exit_code == 0
    assert printed.output == client.get("/api/v1/coupons/public-key").json["pem"]


def test_a_named_key_file_must_exist(settings, tmp_path):
    from loyalty.app import create_app

    absent = tmp_path / "prod" / "coupon.pem"
    app = create_app(dataclasses.replace(settings, coupon_signing_key_file=str(absent)))
    try:
        answer = app.test_client().get("/api/v1/coupons/public-key")
        assert answer.status_code == 503
        assert answer.json["code"] == "signing_key_missing"
        assert not absent.exists()
    finally:
        app.extensions["loyalty.db"].engine.dispose()
