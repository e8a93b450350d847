"""Signed unsubscribe links: the token names member and channel, signed with the secret key.

No expiry: an unsubscribe link in an old email must still work.  The token is not secret (the
member's own mailbox holds it) but cannot be forged, so nobody can unsubscribe someone else.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

from loyalty.errors import NotFound
from loyalty.members.models import Channel

SALT = "loyalty.messaging.unsubscribe"


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=SALT)


def unsubscribe_token(secret_key: str, member_id: int, channel: Channel | str) -> str:
    return _serializer(secret_key).dumps([member_id, Channel(channel).value])


def read_unsubscribe_token(secret_key: str, token: str) -> tuple[int, Channel]:
    """``(member_id, channel)``; NotFound for a token we did not sign (a typo, a forgery)."""
    try:
        member_id, channel = _serializer(secret_key).loads(token)
        return int(member_id), Channel(channel)
    except (BadSignature, ValueError, TypeError) as exc:
        raise NotFound("this unsubscribe link is not valid",
                       code_hint="unknown_unsubscribe_link") from exc


def unsubscribe_url(base_url: str, secret_key: str, member_id: int, channel: Channel | str) -> str:
    return f"{base_url.rstrip('/')}/unsubscribe/{unsubscribe_token(secret_key, member_id, channel)}"
