"""A real SMTP server (aiosmtpd) and an HTTP stand-in for the SMS provider, both on local ports,
each told what to answer next; an app configured to send through them."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from loyalty.config import Settings
from loyalty.members.services import record_consent
from tests.factories import make_member


@dataclass
class SmtpHandler:
    """Accepts mail and keeps it, or answers the next queued refusals ("451 ...") at DATA."""

    received: list[EmailMessage] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    rcpt_refusals: list[str] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.rcpt_refusals:
            return self.rcpt_refusals.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.refusals:
            return self.refusals.pop(0)
        self.received.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 2.0.0 queued"


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpHandler, int]]:
    handler = SmtpHandler()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _free_port() -> int:
    """A port nobody listens on (aiosmtpd's controller needs one up front: it connects to it
    to know the server is up)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


HANG_UP = 0


@dataclass
class SmsProvider:
    """Answers the queued (status, body) pairs in turn (status ``HANG_UP``: no answer at all),
    then 200; records every request."""

    answers: list[tuple[int, dict]] = field(default_factory=list)
    requests: list[tuple[dict[str, str], dict]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def sms_provider() -> Iterator[SmsProvider]:
    provider = SmsProvider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            provider.requests.append((dict(self.headers), body))
            status, answer = (provider.answers.pop(0) if provider.answers
                              else (200, {"id": f"sms-{len(provider.requests)}"}))
            if status == HANG_UP:  # took the request, then the line went dead
                self.close_connection = True
                return
            raw = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: object) -> None:  # keep the test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    provider.url = f"http://127.0.0.1:{server.server_address[1]}/v1/messages"
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def settings(settings: Settings, smtp, sms_provider) -> Settings:  # type: ignore[no-untyped-def]
    """Email to the local SMTP server, SMS to the stand-in; no quiet hours unless a test sets
    them (the tests that need them pass a clock)."""
    _handler, port = smtp
    return replace(
        settings, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False,
        mail_from="Corner Market <offers@corner.example>", sms_url=sms_provider.url,
        sms_api_key="provider-key", messaging_quiet_hours="", messaging_timeout_seconds=5,
        public_base_url="https://loyalty.test",
    )


def consenting_member(db, settings, *, channel: str, language: str = "en", **kw):  # type: ignore[no-untyped-def]
    """A member who gave consent on ``channel`` and prefers it."""
    kw.setdefault("email", f"member{next(_seq)}@example.net")
    kw.setdefault("phone", f"+97150{next(_seq):07d}")
    member, _card = make_member(db, settings, language=language, preferred_channel=channel,
                                **kw)
    record_consent(db, member.id, channel, True, "marketing-1", source="staff")
    return member


_seq = iter(range(1_000_000, 2_000_000))

OFFER = {"offer": "20% off fresh fruit", "code": "FRUIT20", "expires": "2027-01-31"}
