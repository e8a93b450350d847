"""Posting a page's form as a browser does: with the CSRF token the page gave it."""

from __future__ import annotations

import re

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, url: str) -> str:  # type: ignore[no-untyped-def]
    page = client.get(url).get_data(as_text=True)
    found = _TOKEN.search(page)
    assert found, f"no CSRF token in the form of {url}"
    return found.group(1)


def post_form(client, page_url: str, data: dict[str, str], action: str | None = None):  # type: ignore[no-untyped-def]
    """GET ``page_url`` for its token, then POST ``data`` to ``action`` (default: the page)."""
    token = csrf_token(client, page_url)
    return client.post(action or page_url, data={**data, "csrf_token": token})
