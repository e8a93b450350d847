"""deploy/README.md, "First production run", followed as written on a fresh database.

Every ``sh`` block of the section runs, in order, in one bash (``-euo pipefail``) through the
installed ``loyalty`` command, with catalog.csv taken from the section's ``csv`` block; the
admin's password is typed on stdin.  What the ``console`` blocks set up by hand (the database,
the environment) the test provides.  Then the sale of step 10 goes through the API, with the
admin signing in, enrolling a member, and the till's token from step 4: it must earn the
points the section promises, per the rules it made.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from loyalty.app import create_app
from loyalty.config import Settings
from tests.conftest import PG_URL
from tests.factories import auth
from tests.services import empty_pg_database
from tests.tasks.helpers import ROOT

pytestmark = pytest.mark.slow

README = ROOT / "deploy" / "README.md"
PASSWORD = "first-run correct horse"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def section(title: str) -> str:
    text_ = README.read_text()
    start = text_.index(f"\n## {title}\n")
    end = text_.find("\n## ", start + 1)
    return text_[start:end if end != -1 else None]


def blocks(kind: str) -> list[str]:
    return [body for lang, body in FENCE.findall(section("First production run"))
            if lang == kind]


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[str]:
    """An empty database of its own (not the suite's migrated template): the doc migrates it."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    with empty_pg_database(PG_URL, f"rules_firstrun_{uuid.uuid4().hex[:8]}") as url:
        yield url


def operator_environment(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env.update({
        "LOYALTY_DATABASE_URL": database_url,
        "LOYALTY_SECRET_KEY": "first-run-secret",
        "LOYALTY_COUPON_SIGNING_KEY_FILE": str(tmp_path / "state" / "coupon_signing_key.pem"),
        "LOYALTY_INSTANCE_PATH": str(tmp_path / "state"),
        "LOYALTY_LOG_LEVEL": "WARNING",
        # The `loyalty` of this checkout's virtualenv, as /opt/loyalty/venv/bin is in the doc.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    })
    return env


def test_the_section_has_what_an_operator_needs():
    shell = "\n".join(blocks("sh"))
    for step in ("loyalty db upgrade", "loyalty coupon keygen", "loyalty staff add",
                 "loyalty store add", "loyalty till add", "loyalty catalog import",
                 "loyalty rules add base", "loyalty tiers set"):
        assert step in shell, step
    prose = section("First production run")
    for setting in ("LOYALTY_DATABASE_URL", "LOYALTY_SECRET_KEY", "LOYALTY_INSTANCE_PATH",
                    "LOYALTY_COUPON_SIGNING_KEY_FILE", "LOYALTY_REDIS_URL", "[back_office]",
                    "token_file", "/healthz/ready"):
        assert setting in prose, setting


def test_a_fresh_install_following_the_readme_earns_points(tmp_path, fresh_database):
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "state").mkdir()
    [catalog] = blocks("csv")
    (work / "catalog.csv").write_text(catalog)
    script = work / "first-run.sh"
    script.write_text("\n".join(blocks("sh")))
    env = operator_environment(tmp_path, fresh_database)
    run = subprocess.run(["bash", "-euo", "pipefail", str(script)], cwd=work, env=env,
                         input=PASSWORD + "\n", capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "tier ladder set: blue < gold < platinum" in run.stdout
    assert "created 4, updated 0, unchanged 0, rejected 0" in run.stdout, run.stdout
    till_token = (work / "dxb1-lane1.token").read_text().strip()
    assert till_token.startswith("till_")
    assert (work / "dxb1-lane1.token").stat().st_mode & 0o077 == 0  # umask 077 in the doc

    app = create_app(Settings.from_env(env))
    try:
        client = app.test_client()
        assert client.get("/healthz/ready").status_code == 200
        receipt = first_sale(client, till_token)
    finally:
        app.extensions["loyalty.db"].engine.dispose()
    # Step 10: 13 AED of milk x1 + 7.25 AED of bananas x2 + tobacco x0 = 27.5, rounded down.
    assert receipt["points_earned"] == 27, receipt


def first_sale(client, till_token: str) -> dict:  # type: ignore[no-untyped-def]
    signed_in = client.post("/api/v1/staff/sessions",
                            json={"username": "admin", "password": PASSWORD})
    assert signed_in.status_code == 201, signed_in.json
    admin = auth(signed_in.json["token"])
    enrolled = client.post("/api/v1/members", json={"name": "First Customer"}, headers=admin)
    assert enrolled.status_code == 201, enrolled.json
    sale = client.post("/api/v1/checkouts", headers={**auth(till_token),
                                                      "Idempotency-Key": "first-sale"}, json={
        "currency": "AED",
        "card_number": enrolled.json["card"]["number"],
        "lines": [{"sku": "MILK-1L", "quantity": 2, "unit_price_minor": 650},
                  {"sku": "BANANA-1KG", "quantity": 1, "unit_price_minor": 725},
                  {"sku": "CIGS-20", "quantity": 1, "unit_price_minor": 2500}],
    })
    assert sale.status_code == 201, sale.json
    return sale.json
