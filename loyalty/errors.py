"""Domain errors.  Each has a stable machine-readable ``code`` and an HTTP status.

The web edge maps them to ``application/problem+json`` (RFC 9457); the CLI prints them.  The
domain raises these and nothing else for anything a client can cause, so no client input can
produce a 500.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "domain_error"
    status = 400
    title = "The request cannot be carried out"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class NotFound(DomainError):
    code, status, title = "not_found", 404, "Not found"


class InvalidInput(DomainError):
    code, status, title = "invalid_input", 422, "The input is not valid"


class Conflict(DomainError):
    code, status, title = "conflict", 409, "Conflict with the current state"


class Forbidden(DomainError):
    code, status, title = "forbidden", 403, "Not allowed"


class Unauthorized(DomainError):
    code, status, title = "unauthorized", 401, "Authentication required"


class AlreadyExists(Conflict):
    """A unique constraint refused the row: what was to be created exists (perhaps created a
    moment ago by a request racing this one)."""

    code, title = "already_exists", "It exists already"


class UnknownReference(InvalidInput):
    """A foreign key refused the row: an id sent names a row that does not exist."""

    code, title = "unknown_reference", "A referenced record does not exist"


class UnstorableValue(InvalidInput):
    """The database refused a value as out of its range or form (a last line of defence:
    the schema fields refuse these first)."""

    code, title = "value_out_of_range", "A value is outside what can be stored"


class UnknownCard(NotFound):
    code, title = "unknown_card", "No such loyalty card"


class CardBlocked(Conflict):
    code, status, title = "card_blocked", 403, "This card is blocked"


class CardReplaced(Conflict):
    code, status, title = "card_replaced", 403, "This card was replaced by a newer card"


class PaymentCardRefused(DomainError):
    code, status, title = "payment_card", 422, "Payment card: not a loyalty card"


class InsufficientPoints(Conflict):
    code, title = "insufficient_points", "Not enough points to redeem"


class RedemptionTooLarge(InvalidInput):
    code, title = "redemption_too_large", "Redemption exceeds what this basket allows"


class CurrencyMismatch(InvalidInput):
    code, title = "currency_mismatch", "The currency is not the store's currency"


class IdempotencyKeyMissing(DomainError):
    code, status, title = "idempotency_key_missing", 400, "An Idempotency-Key header is required"


class IdempotencyKeyReused(DomainError):
    code, status = "idempotency_key_reused", 422
    title = "This Idempotency-Key was used with a different request body"


class RequestInFlight(Conflict):
    code, title = "request_in_flight", "A request with this Idempotency-Key is still in progress"


class ReturnExceedsSale(InvalidInput):
    code, title = "return_exceeds_sale", "More returned than was sold"


class CouponRefused(Conflict):
    """A coupon cannot be used; ``reason`` says why (expired, used, not_yours, ...)."""

    code, status, title = "coupon_refused", 422, "The coupon cannot be used"

    def __init__(self, reason: str, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or f"coupon refused: {reason.replace('_', ' ')}", **extra)
        self.extra["reason"] = reason
        self.reason = reason


class UnknownCoupon(NotFound):
    code, title = "unknown_coupon", "No such coupon"


class SigningKeyMissing(DomainError):
    """The configured coupon signing key file is absent: an operator must create it."""

    code, status, title = "signing_key_missing", 503, "The coupon signing key is not installed"


class OfflineSaleNeedsTill(Forbidden):
    """``"offline": true`` waives coupon and balance checks: only a till, replaying what it
    sold while cut off, may claim it (docs/OFFLINE.md)."""

    code, title = "offline_sale_needs_till", "Only a till may record an offline sale"


class PointsCapExceeded(InvalidInput):
    """The basket would earn more points than ``max_points_per_basket`` allows: a till's
    prices are trusted, but not without limit (docs/POINTS.md, "Limits")."""

    code, title = "points_cap_exceeded", "The basket would earn more points than one sale may"


class NotASession(Conflict):
    """Sign-out was asked with a long-lived API token, which no sign-in opened."""

    code, title = "not_a_session", "This token is not a sign-in session"


class RuleOverlaps(Conflict):
    code, title = "rule_overlaps", "Another earning rule covers the same target at that time"


class InvalidSegmentRule(InvalidInput):
    """A segment rule that cannot be compiled; ``path`` is the JSON path of the offending part
    (``$.and[1].value``) and the detail says why (docs/SEGMENTS.md)."""

    code, title = "invalid_segment_rule", "The segment rule is not valid"

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"{path}: {why}", path=path)
        self.path = path


class CampaignFrozen(Conflict):
    """A campaign's definition changes only while it is a draft (docs/CAMPAIGNS.md)."""

    code, title = "campaign_frozen", "The campaign is launched: its definition is frozen"


class AlreadyLaunched(Conflict):
    code, title = "already_launched", "The campaign was launched already"


class CampaignNotActive(Conflict):
    code, title = "campaign_not_active", "The campaign has ended or was cancelled"
