"""``loyalty coupon ...``: issue a coupon by hand, manage the signing key."""

from __future__ import annotations

import datetime as dt

import click
from sqlalchemy import select

from loyalty.catalog.models import Category
from loyalty.cli import Context, domain_errors_exit, pass_ctx
from loyalty.coupons import services, signing
from loyalty.coupons.codes import display_code
from loyalty.coupons.models import OfferKind
from loyalty.errors import InvalidInput
from loyalty.stores.models import Store

CLI_ACTOR = "cli"


@click.group("coupon")
def cli() -> None:
    """Coupons: issue by hand, signing key."""


def _when(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise click.BadParameter(f"{value!r} needs a timezone offset, e.g. +04:00 or Z")
    return moment


def _kind(percent: int | None, amount: int | None, free_sku: str | None,
          bonus: int | None, multiplier: int | None) -> OfferKind:
    given = [kind for kind, value in ((OfferKind.PERCENT_OFF, percent),
                                      (OfferKind.AMOUNT_OFF, amount),
                                      (OfferKind.FREE_ITEM, free_sku),
                                      (OfferKind.BONUS_POINTS, bonus),
                                      (OfferKind.POINTS_MULTIPLIER, multiplier))
             if value is not None]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --percent, --amount-minor, --free-sku, "
                               "--bonus-points, --multiplier")
    return given[0]


def _category_id(session, ref: str | None) -> int | None:  # type: ignore[no-untyped-def]
    if ref is None:
        return None
    found = session.scalar(select(Category.id).where(Category.code == ref))
    if found is None and ref.isdigit():
        found = session.scalar(select(Category.id).where(Category.id == int(ref)))
    if found is None:
        raise InvalidInput(f"no category {ref!r}")
    return found


def _store(session, ref: str | None) -> Store | None:  # type: ignore[no-untyped-def]
    if ref is None:
        return None
    store = session.scalar(select(Store).where(Store.code == ref))
    if store is None and ref.isdigit():
        store = session.get(Store, int(ref))
    if store is None:
        raise InvalidInput(f"no store {ref!r}")
    return store


@cli.command("issue")
@click.option("--member", "member_id", type=int, required=True, help="Member id.")
@click.option("--percent", type=click.IntRange(1, 100), help="Percent off.")
@click.option("--amount-minor", type=click.IntRange(1), help="Amount off, in minor units.")
@click.option("--free-sku", help="One unit of this SKU free.")
@click.option("--bonus-points", type=click.IntRange(1), help="Bonus points.")
@click.option("--multiplier", type=click.IntRange(2, 10),
              help="Earned points x this (2..10), the extra as bonus points.")
@click.option("--currency", help="ISO 4217 currency of the amount or minimum spend.")
@click.option("--category", help="Only on lines of this category (code or id).")
@click.option("--store", help="Only in this store (code or id); its currency is the default.")
@click.option("--min-spend-minor", type=click.IntRange(0), default=0, show_default=True)
@click.option("--exclusive", is_flag=True, help="Cannot be combined with other coupons.")
@click.option("--valid-from", help="ISO 8601 with offset; default now.")
@click.option("--valid-to", help="ISO 8601 with offset; default --days after the start.")
@click.option("--days", type=click.IntRange(1, 1096), default=30, show_default=True)
@pass_ctx
@domain_errors_exit
def issue(ctx: Context, member_id: int, percent: int | None, amount_minor: int | None,
          free_sku: str | None, bonus_points: int | None, multiplier: int | None,
          currency: str | None,
          category: str | None, store: str | None, min_spend_minor: int, exclusive: bool,
          valid_from: str | None, valid_to: str | None, days: int) -> None:
    """Issue a coupon to a member; prints its code.  Audit-logged as actor "cli"."""
    kind = _kind(percent, amount_minor, free_sku, bonus_points, multiplier)
    start = _when(valid_from) or dt.datetime.now(dt.UTC)
    end = _when(valid_to) or start + dt.timedelta(days=days)
    with ctx.session() as session:
        shop = _store(session, store)
        needs_currency = kind == OfferKind.AMOUNT_OFF or min_spend_minor
        offer = services.Offer(
            kind=kind, percent=percent, amount_minor=amount_minor,
            currency=currency or (shop.currency if shop and needs_currency else None),
            category_id=_category_id(session, category), free_sku=free_sku,
            bonus_points=bonus_points, multiplier=multiplier, min_spend_minor=min_spend_minor,
            store_id=shop.id if shop else None, exclusive=exclusive,
        )
        coupon = services.issue_coupon(session, member_id, offer, staff_id=None,
                                       actor=CLI_ACTOR, valid_from=start, valid_to=end)
        code, until = coupon.code, coupon.valid_to
    click.echo(f"{display_code(code)}  (member {member_id}, {kind.value}, "
               f"valid until {until.isoformat()})")


@cli.command("keygen")
@pass_ctx
def keygen(ctx: Context) -> None:
    """Create the coupon signing key at the configured path (never overwrites one)."""
    path = ctx.app.extensions["loyalty.settings"].coupon_key_path
    try:
        signing.write_new_key(path)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {path} (mode 0600); key id {signing.key_id(signing.load_private_key(path))}")


@cli.command("public-key")
@pass_ctx
@domain_errors_exit
def public_key(ctx: Context) -> None:
    """Print the programme's public key (PEM), to install on tills."""
    key = services.coupon_signing_key(ctx.app.extensions["loyalty.settings"])
    click.echo(signing.public_key_pem(key), nl=False)
