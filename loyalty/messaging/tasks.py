"""Messaging tasks: ``messaging.deliver`` sends one message; ``messaging.sweep`` (under beat,
every minute) releases deferred messages whose time has come and marks dead claims unknown.

Retries are not Celery's: a temporary failure defers the row with its backoff in the database,
and the sweep queues it again, so losing Redis loses no retry (docs/MESSAGING.md).
"""

from __future__ import annotations

import logging

from celery import shared_task
from flask import current_app

from loyalty.config import Settings
from loyalty.db import unit_of_work
from loyalty.extensions import database
from loyalty.messaging.delivery import Unsubscribe, deliver_message
from loyalty.messaging.models import MessageChannel
from loyalty.messaging.services import QuietHours, SendingPolicy, sweep_messages
from loyalty.messaging.transports import (
    HttpSmsTransport,
    LogTransport,
    SmsSettings,
    SmtpSettings,
    SmtpTransport,
    Transport,
    WalletTransport,
)

log = logging.getLogger(__name__)


def sending_policy(settings: Settings) -> SendingPolicy:
    return SendingPolicy(
        quiet_hours=QuietHours.parse(settings.messaging_quiet_hours),
        default_timezone=settings.messaging_default_timezone,
        max_attempts=settings.messaging_max_attempts,
        retry_base_seconds=settings.messaging_retry_base_seconds,
    )


def transports_for(settings: Settings) -> dict[MessageChannel, Transport]:
    """SMTP and the SMS provider when configured; the log transport where not (the demo)."""
    timeout = float(settings.messaging_timeout_seconds)
    email: Transport = LogTransport()
    if settings.smtp_host:
        email = SmtpTransport(SmtpSettings(
            settings.smtp_host, settings.smtp_port, settings.smtp_user, settings.smtp_password,
            settings.smtp_starttls, settings.mail_from, timeout))
    sms: Transport = LogTransport()
    if settings.sms_url:
        sms = HttpSmsTransport(SmsSettings(settings.sms_url, settings.sms_api_key, timeout))
    return {MessageChannel.WALLET: WalletTransport(), MessageChannel.EMAIL: email,
            MessageChannel.SMS: sms}


def _settings() -> Settings:
    return current_app.extensions["loyalty.settings"]


@shared_task(name="messaging.deliver", ignore_result=True)
def deliver(message_id: int) -> str:
    settings = _settings()
    return deliver_message(
        database(current_app).session_factory, message_id, transports_for(settings),
        sending_policy(settings), Unsubscribe(settings.public_base_url, settings.secret_key),
    )


@shared_task(name="messaging.deliver_batch", ignore_result=True)
def deliver_batch(message_ids: list[int]) -> int:
    """The messages of one bulk queueing (a campaign chunk's coupons), one after the other;
    each is claimed and recorded on its own, as by ``messaging.deliver``, so a batch run
    twice or cut short by a dead worker sends nothing twice.  Returns how many went out."""
    settings = _settings()
    factory = database(current_app).session_factory
    transports, policy = transports_for(settings), sending_policy(settings)
    unsubscribe = Unsubscribe(settings.public_base_url, settings.secret_key)
    statuses = [deliver_message(factory, message_id, transports, policy, unsubscribe)
                for message_id in message_ids]
    return statuses.count("sent")


@shared_task(name="messaging.sweep", ignore_result=True)
def sweep() -> int:
    with unit_of_work(database(current_app).session_factory) as session:
        result = sweep_messages(session, sending_policy(_settings()))
    if result.unknown:
        log.warning("messages %s were claimed by a worker that stopped: marked unknown",
                    result.unknown)
    return len(result.released)
