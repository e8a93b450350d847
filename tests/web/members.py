"""A member joining through the portal's own forms, their code read from the mail sent."""

from __future__ import annotations

import re

from tests.web.forms import post_form

PASSWORD = "saffron lantern 42"  # noqa: S105 - a test member's


def last_code(mailbox, to: str) -> str:  # type: ignore[no-untyped-def]
    mail = [m for m in mailbox.received if m["To"] == to][-1]
    return re.search(r"\b(\d{6})\b", mail.get_content()).group(1)


def join_and_verify(client, mailbox, email: str, name: str = "Mariam Saleh"):  # type: ignore[no-untyped-def]
    """Join with ``email``, confirm it with the mailed code; the browser is signed in after."""
    resp = post_form(client, "/my/join", {"name": name, "contact": email, "password": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/my/verify"), \
        resp.get_data(as_text=True)
    resp = post_form(client, "/my/verify", {"code": last_code(mailbox, email)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/my/"), resp.status_code
    return resp
