"""Checkout API for tills: quote (no side effects), commit and return (idempotent)."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint

from loyalty.auth.principal import Principal, current_principal
from loyalty.checkout import schemas, services
from loyalty.errors import InvalidInput
from loyalty.http import db_session
from loyalty.idempotency.edge import idempotent

URL_PREFIX = ""
blp = Blueprint("checkout", __name__, description="Quote, commit and return baskets")


def _store_for(principal: Principal, requested: int | None) -> int:
    """A till or store-bound staff member acts in its own store; others must name one."""
    if principal.store_id is not None:
        if requested is not None:
            principal.check_store(requested)
        return principal.store_id
    if requested is None:
        raise InvalidInput("store_id is required")
    return requested


def _settings():  # type: ignore[no-untyped-def]
    return current_app.extensions["loyalty.settings"]


def _basket(data: dict) -> services.BasketIn:
    principal = current_principal()
    store_id = _store_for(principal, data.pop("store_id"))
    return schemas.basket_in(data, store_id, principal.till_id)


@blp.route("/checkouts/quote", methods=["POST"])
@blp.arguments(schemas.BasketInSchema)
@blp.response(200, schemas.QuoteSchema)
def quote(data: dict):  # type: ignore[no-untyped-def]
    """Price a basket: points it would earn, most points redeemable and their value."""
    return services.quote_checkout(db_session(), _settings(), _basket(data))


@blp.route("/checkouts", methods=["POST"])
@idempotent
@blp.arguments(schemas.BasketInSchema)
@blp.response(201, schemas.ReceiptSchema)
def commit(data: dict):  # type: ignore[no-untyped-def]
    """Commit a sale.  Requires an ``Idempotency-Key`` header."""
    return services.commit_checkout(db_session(), _settings(), _basket(data))


@blp.route("/returns", methods=["POST"])
@idempotent
@blp.arguments(schemas.ReturnInSchema)
@blp.response(201, schemas.ReturnResultSchema)
def create_return(data: dict):  # type: ignore[no-untyped-def]
    """Return lines of a basket.  Requires an ``Idempotency-Key`` header."""
    principal = current_principal()
    return services.return_items(
        db_session(), _settings(), data["basket_id"], tuple(data["lines"]),
        store_id=principal.store_id, till_id=principal.till_id,
    )
