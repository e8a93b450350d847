"""The member pages, with everything they load, weigh well under issue 10's 300 KB: a phone
on a shop's poor connection must get them quickly.  Weighed cold: every address a page asked
for, fetched again whole (the browser's cache would hide the style sheet and script)."""

from __future__ import annotations

from tests.browser.journeys import join_in_browser

LIMIT = 300 * 1024


def test_the_portal_pages_weigh_under_300_kb(phone, mailbox):
    join_in_browser(phone, mailbox, "mariam@example.net", "Mariam Saleh")
    asked: list[str] = []
    phone.on("request", lambda request: asked.append(request.url))
    for path in ("/my/", "/my/card", "/my/profile", "/my/join"):
        asked.clear()
        phone.goto(path)
        phone.wait_for_load_state("networkidle")
        weight = sum(len(phone.request.get(url).body()) for url in set(asked))
        print(f"{path}: {weight} bytes")
        assert 0 < weight < LIMIT, (path, weight)
