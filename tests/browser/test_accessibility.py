"""axe-core (the copy bundled in the axe-playwright-python package, injected from this
machine, no CDN) finds no serious or critical violation on the portal's pages and the staff's
sign-in, in English, Arabic and Persian; each page is also saved as a screenshot."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.journeys import join_in_browser

SERIOUS = {"serious", "critical"}


def _serious(page) -> list[str]:  # type: ignore[no-untyped-def]
    results = Axe().run(page)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
            for v in results.response["violations"] if v["impact"] in SERIOUS]


@pytest.mark.parametrize("language", ["en", "ar", "fa"])
def test_no_serious_violations_on_the_portal(open_page, mailbox, language, shoot):
    page = open_page(language)
    for path, name in (("/my/sign-in", "sign-in"), ("/my/join", "join"),
                       ("/my/reset/send", "forgot"), ("/my/claim", "claim"),
                       ("/sign-in", "staff-sign-in")):
        page.goto(f"{path}?lang={language}")
        assert _serious(page) == [], f"{path} ({language})"
        shoot(page, f"portal-{name}-{language}")
    join_in_browser(page, mailbox, f"axe-{language}@example.net", "Layla Haddad", language)
    assert _serious(page) == [], f"account ({language})"
    shoot(page, f"portal-account-new-{language}")
    for path, name in (("/my/card", "card"), ("/my/profile", "profile"),
                       ("/my/coupons", "coupons")):
        page.goto(path)
        assert _serious(page) == [], f"{path} ({language})"
        shoot(page, f"portal-{name}-{language}")
