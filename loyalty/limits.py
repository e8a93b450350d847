"""Rate limits on every endpoint that checks a secret a caller could guess.

* **Passwords** (API sign-in, the pages' sign-in form): every attempt counts, per account and
  client address (``LOYALTY_SIGN_IN_LIMIT_PER_ACCOUNT``) and per client address over all
  accounts (``LOYALTY_SIGN_IN_LIMIT_PER_ADDRESS``).  Every attempt, not only failures: a hit is
  one atomic increment, so parallel guesses across workers cannot slip past a check-then-count.
* **Card numbers and coupon codes** (identify, block, replace, images, coupon look-ups, quote
  and commit): only misses count (404: ``unknown_card``, ``unknown_coupon``), per caller and
  address (``LOYALTY_LOOKUP_MISS_LIMIT``).  Card serials and coupon codes are random, so a
  stolen till token is what could enumerate them; a till serving customers almost never misses.
* **Members' portal**: password and one-time-code attempts (sign-in, confirming a contact,
  password reset) per contact and address (``LOYALTY_MEMBER_SIGN_IN_LIMIT``), every attempt
  counting; asking for a code to be sent (joining, sign-in and reset codes, resending) per
  contact and address and per address (``LOYALTY_ONE_TIME_CODE_LIMIT``), so nobody can flood a
  member's phone or mailbox, nor run up the SMS bill.  Claiming a plastic card (number and
  printed code) counts per address as well.
* **Bearer tokens** are not limited: 192 random bits cannot be guessed at any rate, and a
  check on every request would cost every request a round trip.

Counters live in Redis when ``LOYALTY_REDIS_URL`` is set, so the limit holds across gunicorn
workers and hosts; in memory otherwise (the embedded default, one process).  If Redis goes
away, each worker falls back to its own memory counters rather than refusing every sign-in.
Over the limit: 429 ``too_many_requests`` with ``Retry-After`` in seconds.

Behind a reverse proxy the client address would be the proxy's for everyone:
``LOYALTY_TRUSTED_PROXIES`` (how many proxies append to ``X-Forwarded-For``) makes werkzeug's
``ProxyFix`` take the client's from there.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable

from flask import Flask, Response, g, request, session
from flask_limiter import Limiter, RequestLimit
from flask_limiter.errors import RateLimitExceeded
from limits import parse_many
from werkzeug.middleware.proxy_fix import ProxyFix

from loyalty.config import Settings, SettingsError
from loyalty.http import problem

SIGN_IN_ENDPOINTS = ("staff.sign_in", "pages.sign_in")
LOOKUP_ENDPOINTS = (
    "cards.identify_card", "cards.block_card", "cards.replace_card", "cards.card_barcode",
    "cards.card_qr", "coupons.get_coupon", "coupons.barcode", "coupons.qr_code",
    "checkout.quote", "checkout.commit",
)
# The members' portal (web/portal): forms that check a password or a code, and forms that send
# one.  A code is tried on the page after the one that sent it, whose contact is in the session.
MEMBER_ATTEMPT_ENDPOINTS = ("portal.sign_in", "portal.sign_in_code", "portal.verify",
                            "portal.reset", "portal.claim")
CODE_SENDING_ENDPOINTS = ("portal.join_page", "portal.request_sign_in_code",
                          "portal.request_reset", "portal.resend_verification", "portal.claim")
# Claiming a card checks the code printed on it: tries count per address too, whatever
# contact each names, so nobody walks the card numbers from one place.
CARD_CLAIM_ENDPOINTS = ("portal.claim",)
_ATTEMPT_METHODS = ["POST"]  # the sign-in page's GET only shows the form


def client_address() -> str:
    return request.remote_addr or "unknown"


def _account() -> str:
    """The username tried, as a short hash: Redis keys need no usernames in clear."""
    body = request.get_json(silent=True) if request.is_json else request.form
    username = body.get("username") if hasattr(body, "get") else None
    if not isinstance(username, str):
        username = ""  # a malformed attempt still counts, against the address
    return hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:16]


def _member_contact() -> str:
    """The contact typed, or the one a code went to (in the session), as a short hash."""
    typed = request.form.get("contact")
    if not isinstance(typed, str) or not typed.strip():
        pending = session.get("pending_contact")
        typed = pending[0] if isinstance(pending, list) and pending else ""
    return hashlib.sha256(str(typed).strip().casefold().encode()).hexdigest()[:16]


def contact_and_address() -> str:
    return f"{_member_contact()}|{client_address()}"


def account_and_address() -> str:
    return f"{_account()}|{client_address()}"


def caller_and_address() -> str:
    principal = g.get("principal")
    return f"{principal.actor if principal else 'anonymous'}|{client_address()}"


def _is_miss(response: Response) -> bool:
    return response.status_code == 404


def _too_many(limit: RequestLimit) -> Response:
    wait = max(1, math.ceil(limit.reset_at - time.time()))
    response = problem(429, "too_many_requests", "Too many requests",
                       f"Limit of {limit.limit} reached; try again in {wait} s.")
    response.headers["Retry-After"] = str(wait)
    return response


def _rate_limited(exc: RateLimitExceeded) -> Response:
    return exc.response or problem(429, "too_many_requests", "Too many requests", exc.description)


def _checked(name: str, value: str) -> str:
    try:
        parse_many(value)
    except ValueError as exc:
        raise SettingsError(f"LOYALTY_{name.upper()}: not a rate limit: {value!r}") from exc
    return value


def init_limits(app: Flask, settings: Settings) -> Limiter:
    """Bind a limiter to ``app`` and put the limits on the endpoints named above.

    Call after every blueprint is registered: the limits wrap the registered views."""
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)  # type: ignore[method-assign]
    limiter = Limiter(
        key_func=client_address,
        storage_uri=settings.redis_url or "memory://",
        storage_options={"socket_timeout": 1, "socket_connect_timeout": 1}
        if settings.redis_url else {},
        strategy="moving-window",  # no doubled burst at the edge of a window
        key_prefix="loyalty",
        in_memory_fallback_enabled=True,
        on_breach=_too_many,
    )
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _rate_limited)
    per_account = _checked("sign_in_limit_per_account", settings.sign_in_limit_per_account)
    per_address = _checked("sign_in_limit_per_address", settings.sign_in_limit_per_address)
    misses = _checked("lookup_miss_limit", settings.lookup_miss_limit)
    # Shared limits: one counter across the endpoints of a kind (the API's sign-in and the
    # page's draw on the same allowance).
    for endpoint in SIGN_IN_ENDPOINTS:
        _wrap(app, endpoint, limiter.shared_limit(
            per_account, "sign-in-account", key_func=account_and_address,
            methods=_ATTEMPT_METHODS))
        _wrap(app, endpoint, limiter.shared_limit(
            per_address, "sign-in-address", key_func=client_address, methods=_ATTEMPT_METHODS))
    member_attempts = _checked("member_sign_in_limit", settings.member_sign_in_limit)
    codes = _checked("one_time_code_limit", settings.one_time_code_limit)
    for endpoint in MEMBER_ATTEMPT_ENDPOINTS:
        _wrap(app, endpoint, limiter.shared_limit(
            member_attempts, "member-attempt", key_func=contact_and_address,
            methods=_ATTEMPT_METHODS))
    for endpoint in CARD_CLAIM_ENDPOINTS:
        _wrap(app, endpoint, limiter.shared_limit(
            member_attempts, "card-claim", key_func=client_address, methods=_ATTEMPT_METHODS))
    for endpoint in CODE_SENDING_ENDPOINTS:
        _wrap(app, endpoint, limiter.shared_limit(
            codes, "code-sent", key_func=contact_and_address, methods=_ATTEMPT_METHODS))
        _wrap(app, endpoint, limiter.shared_limit(
            per_address, "code-sent-address", key_func=client_address,
            methods=_ATTEMPT_METHODS))
    for endpoint in LOOKUP_ENDPOINTS:
        _wrap(app, endpoint, limiter.shared_limit(
            misses, "lookup-miss", key_func=caller_and_address, deduct_when=_is_miss))
    app.extensions["loyalty.limiter"] = limiter
    return limiter


def _wrap(app: Flask, endpoint: str, decorate: Callable) -> None:  # type: ignore[type-arg]
    if endpoint in app.view_functions:  # a slice left out of an app has nothing to limit
        app.view_functions[endpoint] = decorate(app.view_functions[endpoint])
