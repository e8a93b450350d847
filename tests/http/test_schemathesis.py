"""The API against its own OpenAPI document, by schemathesis, once per kind of caller.

One schemathesis run per credential (a till, a cashier, an admin), against a real HTTP server
(``served``): no answer may be a server error, and every answer must conform to the document
(status, media type, headers, body schema), refuse what the document forbids, and demand the
credentials it declares.  The suite runs this on SQLite and, with LOYALTY_TEST_DATABASE_URL,
on PostgreSQL.

Why the CLI against a server rather than schemathesis's WSGI integration: the bytes on the wire
are what a till sees (``Allow``, ``WWW-Authenticate``, a body without its Content-Type), one
run covers every operation with one report, and a failure prints the ``curl`` that reproduces
it.

Which checks: all but ``positive_data_acceptance``, which expects every schema-valid request
to succeed; the document cannot say that a currency must be one the chain knows, a phone
number must parse or a member id must exist, and those answers are 422/404 problems by design.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from loyalty.auth.policy import ALLOWED
from tests.auth.chain import make_chain
from tests.factories import make_member

pytestmark = pytest.mark.slow

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
SEED = 20261203  # fixed: a failure here reproduces with the same cases

# The coverage phase (boundaries: 2**31, NUL, empty, wrong types, missing fields) for the till
# and the admin, whose operations together are all of them; fuzzing for every caller.
RUNS = {
    "till": "coverage,fuzzing",
    "cashier": "fuzzing",
    "admin": "coverage,fuzzing",
}


@pytest.fixture
def chain(db, settings):  # type: ignore[no-untyped-def]
    """Two stores, and a member with a card: enough for each operation to
    reach its own logic, not only its 404."""
    chain = make_chain(db)
    make_member(db, settings)
    db.commit()
    return chain


def _operations_of(role: str) -> list[str]:
    """``--include-operation-id`` for each operation the policy lets ``role`` call (the
    document's operation ids are the policy's endpoint names); the rest would only be 403s."""
    return [arg for endpoint, roles in sorted(ALLOWED.items()) if role in roles
            for arg in ("--include-operation-id", endpoint)]


@pytest.mark.parametrize("role", list(RUNS))
def test_the_api_keeps_its_document(served, chain, role, tmp_path):
    token = chain.token(role)
    run = subprocess.run(
        [SCHEMATHESIS, "run", f"{served}/api/v1/openapi.json", *_operations_of(role),
         "--header", f"Authorization: Bearer {token}",
         "--checks", "all", "--exclude-checks", "positive_data_acceptance",
         "--phases", RUNS[role], "--max-examples", "10", "--seed", str(SEED),
         "--workers", "1", "--generation-database", "none", "--request-timeout", "30",
         "--no-color"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-15000:]
    generated = re.search(r"(\d+) generated", report)
    assert generated and int(generated.group(1)) >= 100, report[-3000:]
