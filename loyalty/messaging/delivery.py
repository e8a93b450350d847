"""Sending one message: claim (commit), hand over to the transport, record (commit).

Why two transactions around the send: the claim must be durable BEFORE anything leaves, so a
worker that dies after the provider accepted the message leaves ``sending`` behind, not
``queued``; the sweep turns that into ``unknown`` for review instead of sending it again (at
most once; docs/MESSAGING.md).  The provider call holds no database lock or transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from loyalty.db import unit_of_work
from loyalty.messaging.models import MessageChannel
from loyalty.messaging.services import (
    Claim,
    Result,
    SendingPolicy,
    claim_message,
    record_outcome,
)
from loyalty.messaging.templates import UNSUBSCRIBE_FOOTER, gettext
from loyalty.messaging.tokens import unsubscribe_url
from loyalty.messaging.transports import (
    AmbiguousFailure,
    DeliveryError,
    Outgoing,
    PermanentFailure,
    TemporaryFailure,
    Transport,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unsubscribe:
    """Where the one-click unsubscribe links point, and the key that signs them."""

    base_url: str
    secret_key: str


def outgoing_for(claim: Claim, unsubscribe: Unsubscribe) -> Outgoing:
    """The message as it leaves; email carries RFC 8058 one-click unsubscribe headers."""
    headers: dict[str, str] = {}
    body = claim.body
    if claim.channel is MessageChannel.EMAIL:
        url = unsubscribe_url(unsubscribe.base_url, unsubscribe.secret_key, claim.member_id,
                              claim.channel.value)
        headers = {"List-Unsubscribe": f"<{url}>",
                   "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
        body = f"{body}\n-- \n{gettext(claim.language, UNSUBSCRIBE_FOOTER) % {'url': url}}\n"
    return Outgoing(claim.message_id, claim.channel, claim.address, claim.language,
                    claim.subject, body, claim.sms, headers)


def deliver_message(
    session_factory: sessionmaker[Session],
    message_id: int,
    transports: Mapping[MessageChannel, Transport],
    policy: SendingPolicy,
    unsubscribe: Unsubscribe,
    now: dt.datetime | None = None,
) -> str:
    """Send message ``message_id`` if it is due; returns its status afterwards (or "skipped"
    when there was nothing to do).  Safe to call twice, or twice at once: one claim wins."""
    with unit_of_work(session_factory) as session:
        claim = claim_message(session, message_id, policy, now)
    if claim is None:
        return "skipped"
    result, provider_id, error = _send(transports[claim.channel], outgoing_for(claim, unsubscribe))
    with unit_of_work(session_factory) as session:
        message = record_outcome(session, message_id, result, policy, provider_id=provider_id,
                                 error=error, now=now)
        status = str(message.status)
    log.info("message %s (%s, attempt %s): %s", message_id, claim.channel.value, claim.attempt,
             status)
    return status


def _send(transport: Transport, outgoing: Outgoing) -> tuple[str, str | None, str | None]:
    try:
        return Result.SENT, transport.send(outgoing), None
    except TemporaryFailure as exc:
        return Result.TEMPORARY, None, str(exc)
    except PermanentFailure as exc:
        return Result.PERMANENT, None, str(exc)
    except AmbiguousFailure as exc:
        return Result.AMBIGUOUS, None, str(exc)
    except DeliveryError as exc:  # pragma: no cover - every transport raises a subclass
        return Result.AMBIGUOUS, None, str(exc)
