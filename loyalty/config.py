"""Settings: the one config object, read from ``LOYALTY_*`` environment variables.

Nothing else in the code base reads ``os.environ``; tests build a :class:`Settings` by hand and
hand it to ``create_app``.  With no variables set, the embedded default applies: a SQLite file
under ``instance/`` and tasks run in-process.  Production (a PostgreSQL URL) must name its
secrets explicitly, or start-up fails at once rather than running with a made-up key.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from loyalty.private_files import create_private_file

PREFIX = "LOYALTY_"


class SettingsError(RuntimeError):
    """A setting is missing or malformed; raised at start-up, never later."""


@dataclass(frozen=True)
class Settings:
    instance_path: Path = field(default_factory=lambda: Path.cwd() / "instance")
    database_url: str = ""
    redis_url: str = ""
    secret_key: str = ""
    coupon_signing_key_file: str = ""
    # Card numbers: prefix + serial + Luhn digit.  The prefix starts with 9 (ISO/IEC 7812 major
    # industry identifier "national use"), a range no payment network issues from.
    card_prefix: str = "9871"
    card_length: int = 16
    # What one point is worth when redeemed, in minor units of the store's currency.
    point_value_minor: int = 1
    # Earned points expire this many days after the purchase that earned them.
    points_lifetime_days: int = 365
    # A till's prices are the sale's truth, within limits (docs/POINTS.md, "Limits"): a basket
    # earning more points than this is refused; a line priced more than this percentage away
    # from the catalog's price is flagged for review.
    max_points_per_basket: int = 200_000
    price_tolerance_percent: int = 20
    # A request claiming an Idempotency-Key that is still "in flight" after this long is
    # presumed dead (its worker crashed) and may be taken over.
    idempotency_stale_seconds: int = 120
    max_body_bytes: int = 1024 * 1024
    # A staff sign-in session lasts this long (a shift and a margin); sign in again after.
    staff_session_hours: int = 12
    # Rate limits (``limits`` notation, ";" between several), see loyalty/limits.py: sign-in
    # attempts per account and client address, and per address over all accounts; look-ups of
    # card numbers or coupon codes that miss, per caller and address.
    sign_in_limit_per_account: str = "10 per minute; 30 per hour"
    sign_in_limit_per_address: str = "60 per minute"
    lookup_miss_limit: str = "30 per minute"
    # Reverse proxies in front that append to X-Forwarded-For (nginx: 1).  0 trusts none, and
    # the client address the limits key on is the connection's.
    trusted_proxies: int = 0
    # Pages (docs/PAGES.md).  ``https``: the site is reached over TLS only (behind a proxy that
    # terminates it): session cookies are Secure and every page sends HSTS for a year.
    https: bool = False
    # Members' portal: passwords and one-time codes, per contact and client address.
    member_sign_in_limit: str = "10 per minute; 30 per hour"
    one_time_code_limit: str = "5 per 15 minutes; 20 per day"
    member_session_days: int = 30  # then sign in again, however active
    # Staff pages sign a browser out after this long without a page (a desk left unattended);
    # the staff session's own lifetime (staff_session_hours) is the absolute limit.
    staff_idle_minutes: int = 30
    # Arabic pages format numbers and dates for ar_<REGION> ("SA", "EG": Arabic-Indic digits);
    # empty: CLDR's plain "ar" (Latin digits, as in the Gulf).
    arabic_region: str = ""
    # Messaging (docs/MESSAGING.md).  Email over SMTP and SMS through an HTTP provider; with no
    # host or URL, that channel goes to the log transport (the demo).  Quiet hours are the
    # store's local time ("" for none); a member with no store uses the default time zone.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    mail_from: str = "Loyalty <no-reply@loyalty.example>"
    sms_url: str = ""
    sms_api_key: str = ""
    messaging_timeout_seconds: int = 10
    messaging_quiet_hours: str = "21:00-08:00"
    messaging_default_timezone: str = "UTC"
    messaging_max_attempts: int = 5
    messaging_retry_base_seconds: int = 60
    # The address people reach this server on, for links in messages (one-click unsubscribe).
    public_base_url: str = "https://loyalty.example"
    sqlite_busy_timeout_ms: int = 30_000
    log_level: str = "INFO"
    testing: bool = False

    @property
    def is_embedded(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.instance_path / 'loyalty.db'}"

    @property
    def tasks_in_process(self) -> bool:
        """Without a broker, tasks run in the caller's process (the embedded default)."""
        return not self.redis_url

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(PREFIX + f.name.upper())
            if raw is None:
                continue
            values[f.name] = _parse(f.name, f.type, raw)
        settings = cls(**values)  # type: ignore[arg-type]
        return settings.with_secrets()

    def with_secrets(self) -> Settings:
        """Fill in secrets for the embedded default; refuse to invent them for production."""
        if self.secret_key and (self.coupon_signing_key_file or self.is_embedded):
            return self
        if not self.is_embedded and not self.testing:
            missing = [n for n in ("secret_key", "coupon_signing_key_file") if not getattr(self, n)]
            if missing:
                names = ", ".join(PREFIX + n.upper() for n in missing)
                raise SettingsError(f"production settings need {names}")
        return replace(self, secret_key=self.secret_key or self._embedded_secret_key())

    def _embedded_secret_key(self) -> str:
        """The key in ``instance/secret_key``, made on first start.  Two processes starting at
        once (``make demo``'s web server and worker) must agree on one key, and no other user
        may read it even for a moment: the file appears whole, mode 0600, or not at all."""
        secret_file = self.instance_path / "secret_key"
        if not secret_file.exists():
            self.instance_path.mkdir(parents=True, exist_ok=True)
            create_private_file(secret_file, secrets.token_urlsafe(48).encode())
        key = secret_file.read_text().strip()
        if not key:
            raise SettingsError(f"{secret_file} is empty: delete it to make a new key")
        return key

    @property
    def coupon_key_path(self) -> Path:
        return Path(self.coupon_signing_key_file or self.instance_path / "coupon_signing_key.pem")


def _parse(name: str, kind: object, raw: str) -> object:
    kind_name = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    try:
        if kind_name == "int":
            return int(raw)
        if kind_name == "bool":
            if raw.lower() not in {"1", "0", "true", "false", "yes", "no"}:
                raise ValueError(raw)
            return raw.lower() in {"1", "true", "yes"}
        if kind_name == "Path":
            return Path(raw)
    except ValueError as exc:
        raise SettingsError(f"{PREFIX}{name.upper()}: cannot read {raw!r} as {kind_name}") from exc
    return raw
