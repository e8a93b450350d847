"""Transports: how a claimed message leaves.  Each ``send`` returns the provider's id for the
message or raises one of :class:`TemporaryFailure` (try again later: nothing was accepted),
:class:`PermanentFailure` (never try again) or :class:`AmbiguousFailure` (the connection broke
after the message was handed over: it may have gone out, so it is not resent).

No transport logs an address or a body: logs travel further than the message row.
"""

from __future__ import annotations

import http.client
import json
import logging
import smtplib
import ssl
import urllib.parse
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

from loyalty.messaging.models import MessageChannel

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A send that did not succeed; ``str()`` is safe to store (no address, no body)."""


class TemporaryFailure(DeliveryError):
    pass


class PermanentFailure(DeliveryError):
    pass


class AmbiguousFailure(DeliveryError):
    pass


@dataclass(frozen=True)
class Outgoing:
    message_id: int
    channel: MessageChannel
    to: str | None
    language: str
    subject: str
    body: str
    sms: str
    headers: dict[str, str] = field(default_factory=dict)


class Transport(Protocol):
    def send(self, outgoing: Outgoing) -> str: ...


class WalletTransport:
    """The coupon is already in the member's wallet (API, portal later): nothing to push."""

    def send(self, outgoing: Outgoing) -> str:
        return f"wallet-{outgoing.message_id}"


class LogTransport:
    """The demo's transport: it says a message went out, and nothing about whom or what."""

    def send(self, outgoing: Outgoing) -> str:
        log.info("message %s (%s, %s) sent by the log transport",
                 outgoing.message_id, outgoing.channel.value, outgoing.language)
        return f"log-{outgoing.message_id}"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str
    password: str
    starttls: bool
    from_address: str
    timeout: float


def message_id_header(message_id: int, from_address: str) -> str:
    """The RFC 5322 Message-ID, derived from our id: a resend would be recognisable as one."""
    domain = from_address.rpartition("@")[2].strip(" >") or "loyalty.invalid"
    return f"<message-{message_id}@{domain}>"


class SmtpTransport:
    """Email over SMTP (STARTTLS and login when configured).  One connection per message:
    campaigns are sent by many workers, and a reused connection is another state to lose."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def build(self, outgoing: Outgoing) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.settings.from_address
        email["To"] = outgoing.to
        email["Subject"] = outgoing.subject
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = message_id_header(outgoing.message_id, self.settings.from_address)
        for name, value in outgoing.headers.items():
            email[name] = value
        email.set_content(outgoing.body)
        email["Content-Language"] = outgoing.language  # after set_content, which drops Content-*
        return email

    def send(self, outgoing: Outgoing) -> str:
        if not outgoing.to:
            raise PermanentFailure("no email address")
        email = self.build(outgoing)
        client = self._connect()
        try:
            self._hand_over(client, email)
        finally:
            _quietly_quit(client)
        return str(email["Message-ID"])

    def _connect(self) -> smtplib.SMTP:
        """Connected and signed in; every failure here is temporary: nothing was handed over."""
        s = self.settings
        try:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            if s.starttls:
                client.starttls(context=ssl.create_default_context())
            if s.user:
                client.login(s.user, s.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise TemporaryFailure(f"SMTP login refused: {exc.smtp_code}") from exc
        except smtplib.SMTPResponseException as exc:
            raise TemporaryFailure(f"SMTP refused the session: {exc.smtp_code}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"SMTP connection failed: {exc.__class__.__name__}") from exc
        return client

    @staticmethod
    def _hand_over(client: smtplib.SMTP, email: EmailMessage) -> None:
        try:
            refused = client.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _msg in exc.recipients.values()]
            raise _by_code(min(codes), "recipient refused") from exc
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, 421
            raise _by_code(exc.smtp_code, "SMTP refused the message") from exc
        except (OSError, smtplib.SMTPException) as exc:
            # The connection broke mid-transaction: the server may have queued it already.
            raise AmbiguousFailure(f"SMTP connection lost: {exc.__class__.__name__}") from exc
        if refused:  # one recipient only, so this cannot happen; be explicit if it does
            raise PermanentFailure("recipient refused")


def _by_code(code: int, what: str) -> DeliveryError:
    kind = TemporaryFailure if 400 <= code < 500 else PermanentFailure
    return kind(f"{what}: {code}")


def _quietly_quit(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()


@dataclass(frozen=True)
class SmsSettings:
    url: str
    api_key: str
    timeout: float


class HttpSmsTransport:
    """A generic SMS provider: ``POST url`` with JSON ``{"to", "text", "reference"}``, a bearer
    key and an ``Idempotency-Key`` (providers that honour it drop a repeat).  The answer's
    JSON ``id`` (or ``message_id``) is the provider id."""

    def __init__(self, settings: SmsSettings) -> None:
        self.settings = settings

    def send(self, outgoing: Outgoing) -> str:
        if not outgoing.to:
            raise PermanentFailure("no phone number")
        reference = f"message-{outgoing.message_id}"
        body = json.dumps({"to": outgoing.to, "text": outgoing.sms, "reference": reference})
        headers = {"Content-Type": "application/json", "Idempotency-Key": reference,
                   "Authorization": f"Bearer {self.settings.api_key}"}
        connection = self._connect()
        try:
            status, raw = self._post(connection, body.encode(), headers)
        finally:
            connection.close()
        if status == 429 or status >= 500:
            raise TemporaryFailure(f"SMS provider answered {status}")
        if status >= 400:
            raise PermanentFailure(f"SMS provider answered {status}")
        return _provider_id(raw) or reference

    def _connect(self) -> http.client.HTTPConnection:
        """Connected; every failure here is temporary: the provider has seen nothing yet."""
        url = urllib.parse.urlsplit(self.settings.url)
        kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        connection = kind(url.hostname or "", url.port, timeout=self.settings.timeout)
        try:
            connection.connect()
        except OSError as exc:  # refused, unreachable, no such host, connect timeout, TLS
            connection.close()
            raise TemporaryFailure(f"SMS provider unreachable: {exc.__class__.__name__}") from exc
        return connection

    def _post(self, connection: http.client.HTTPConnection, body: bytes,
              headers: dict[str, str]) -> tuple[int, bytes]:
        url = urllib.parse.urlsplit(self.settings.url)
        path = url.path or "/"
        try:
            connection.request("POST", f"{path}?{url.query}" if url.query else path, body,
                               headers)
            response = connection.getresponse()
            return response.status, response.read(65536)
        except (OSError, http.client.HTTPException) as exc:
            # The request may have reached the provider: it may send, so we must not resend.
            raise AmbiguousFailure(f"SMS provider connection lost: {exc.__class__.__name__}"
                                   ) from exc


def _provider_id(raw: bytes) -> str | None:
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        return None
    if not isinstance(answer, dict):
        return None
    value = answer.get("id") or answer.get("message_id")
    return str(value)[:200] if value else None
