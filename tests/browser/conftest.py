"""Browser tests: Playwright for Python driving Debian's Chromium (/usr/bin/chromium, which
`make test` installs when absent) against the app behind a real HTTP server.

* ``served``: the app as production runs it (not in testing mode) on a free port, sending
  one-time codes to a real local SMTP server (``mailbox``), on the test's own database.
* ``browser``: one headless Chromium per test process; ``phone`` / ``open_page``: a fresh
  context (cookies of its own) 360 px wide, the portal's smallest screen.  Every request a
  page makes is recorded, and a page that asked anything of another host fails its test:
  every asset comes from the app.
* ``shoot(page, name)``: a full-page screenshot into ``screenshots/`` at the repository root
  (git-ignored; README says so).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from loyalty.config import Settings
from tests.messaging.conftest import smtp  # noqa: F401 - the fixture, shared
from tests.services import served_app, service_missing

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
PHONE = {"width": 360, "height": 780}


@pytest.fixture
def settings(settings: Settings, smtp) -> Settings:  # type: ignore[no-untyped-def]  # noqa: F811
    _handler, port = smtp
    return dataclasses.replace(
        settings, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False,
        mail_from="Oasis Markets <hello@oasis.example>", messaging_timeout_seconds=5)


@pytest.fixture
def mailbox(smtp):  # type: ignore[no-untyped-def]  # noqa: F811
    return smtp[0]


@pytest.fixture
def served(settings: Settings) -> Iterator[str]:
    with served_app(settings) as url:
        yield url


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    if not CHROMIUM.exists():
        service_missing("Chromium", FileNotFoundError(f"{CHROMIUM} (make test installs it)"))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: tests run as root here and in CI, where Chromium's sandbox refuses.
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, served):  # type: ignore[no-untyped-def]
    """A new phone-sized page in a context of its own; after the test, no request may have
    left the app's own server."""
    contexts, foreign = [], []

    def _open(language: str = "en"):  # type: ignore[no-untyped-def]
        context = browser.new_context(viewport=PHONE, locale=language, base_url=served,
                                      device_scale_factor=1)
        context.set_default_timeout(10_000)
        context.on("request", lambda r: None if r.url.startswith((served, "data:"))
                   else foreign.append(r.url))
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()
    assert foreign == [], f"pages asked other hosts: {foreign}"


@pytest.fixture
def phone(open_page):  # type: ignore[no-untyped-def]
    return open_page()


@pytest.fixture
def shoot() -> Callable[..., Path]:
    SCREENSHOTS.mkdir(exist_ok=True)

    def _shoot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _shoot
