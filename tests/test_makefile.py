"""`make help` lists every target and every variable a user may set, and `make test` hands the
test databases' names to the suite, so two checkouts on one machine can test side by side."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import DB_PREFIX

ROOT = Path(__file__).resolve().parent.parent
MAKEFILE = (ROOT / "Makefile").read_text()


def _make(*args: str) -> str:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, check=True,
                          capture_output=True, text=True, timeout=60).stdout


def test_help_lists_every_target_and_variable():
    targets = re.findall(r"^([a-z][a-z-]*):", MAKEFILE, re.MULTILINE)
    variables = re.findall(r"^([A-Z_]+) *\?=", MAKEFILE, re.MULTILINE)
    assert "test" in targets and "PYTEST_WORKERS" in variables  # the patterns still match

    shown = _make("help")

    assert [t for t in targets if f"make {t} " not in shown] == []
    assert [v for v in variables if not re.search(rf"^  {v} +\S", shown, re.MULTILINE)] == []


@pytest.mark.parametrize("target", ["test-sqlite", "test-postgres"])
def test_test_targets_hand_the_suite_its_own_databases(target: str):
    commands = _make("-n", target, "TEST_DB_PREFIX=shop_b", "TEST_REDIS_URL=redis://h:1/9",
                     "TEST_STACK_REDIS_URL=redis://h:1/8")
    pytest_line = next(line for line in commands.splitlines() if "/pytest " in line)

    assert "LOYALTY_TEST_DB_PREFIX=shop_b" in pytest_line
    assert "LOYALTY_TEST_REDIS_URL=redis://h:1/9" in pytest_line
    assert "LOYALTY_TEST_STACK_REDIS_URL=redis://h:1/8" in pytest_line


@pytest.mark.postgres
def test_the_databases_the_suite_makes_carry_the_prefix(database_url: str):
    assert make_url(database_url).database.startswith(f"{DB_PREFIX}_")
