from __future__ import annotations

import pytest

from tests.auth.chain import Chain, make_chain


@pytest.fixture
def chain(db) -> Chain:  # type: ignore[no-untyped-def]
    return make_chain(db)
