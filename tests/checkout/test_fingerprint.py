"""A batch item's fingerprint is taken from its parsed body; it must equal the one a lone
``POST /checkouts`` with the same body gets from the raw bytes, or a sale sent both ways would
be refused as a reused key (or, worse, written twice)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.idempotency.services import fingerprint, fingerprint_value

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_parsed_and_raw_bodies_fingerprint_alike(value):  # type: ignore[no-untyped-def]
    raw = json.dumps(value, indent=1).encode()  # whitespace and key order must not matter
    assert fingerprint_value("POST", "/api/v1/checkouts", value) == fingerprint(
        "POST", "/api/v1/checkouts", raw)
