"""The pages' tests send one-time codes by email to a real local SMTP server (aiosmtpd, as the
messaging tests do) and read them from what it received."""

from __future__ import annotations

from dataclasses import replace

import pytest

from loyalty.config import Settings
from tests.messaging.conftest import smtp  # noqa: F401 - the fixture, shared


@pytest.fixture
def settings(settings: Settings, smtp) -> Settings:  # type: ignore[no-untyped-def]  # noqa: F811
    _handler, port = smtp
    return replace(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False,
                   mail_from="Oasis Markets <hello@oasis.example>", messaging_timeout_seconds=5)


@pytest.fixture
def mailbox(smtp):  # type: ignore[no-untyped-def]  # noqa: F811
    return smtp[0]
