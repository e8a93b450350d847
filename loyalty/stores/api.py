"""Stores and their tills, for admins (every store) and store managers (their own store).

Till tokens are returned once, by the call that creates them; no other call shows them.
"""

from __future__ import annotations

from flask_smorest import Blueprint

from loyalty.auth.principal import current_principal
from loyalty.http import db_session
from loyalty.stores import schemas, services

URL_PREFIX = "/stores"
blp = Blueprint("stores", __name__, description="Stores and tills")


@blp.route("", methods=["GET"])
@blp.response(200, schemas.StoreSchema(many=True))
def list_stores():  # type: ignore[no-untyped-def]
    """Every store, by code."""
    return services.list_stores(db_session())


@blp.route("", methods=["POST"])
@blp.arguments(schemas.StoreInSchema)
@blp.response(201, schemas.StoreSchema)
def create_store(data: dict):  # type: ignore[no-untyped-def]
    """Open a store with its currency (ISO 4217) and timezone (IANA)."""
    return services.create_store(db_session(), **data, actor=current_principal().actor)


@blp.route("/<int:store_id>/tills", methods=["GET"])
@blp.response(200, schemas.TillSchema(many=True))
def list_tills(store_id: int):  # type: ignore[no-untyped-def]
    """The store's tills, revoked ones included."""
    current_principal().check_store(store_id)
    return services.list_tills(db_session(), store_id)


@blp.route("/<int:store_id>/tills", methods=["POST"])
@blp.arguments(schemas.TillInSchema)
@blp.response(201, schemas.NewTillSchema)
def add_till(data: dict, store_id: int):  # type: ignore[no-untyped-def]
    """Register a till; the answer holds its bearer token, shown this once only."""
    principal = current_principal()
    principal.check_store(store_id)
    session = db_session()
    till, token = services.add_till(
        session, services.get_store(session, store_id), data["name"], actor=principal.actor
    )
    return {"till": till, "token": token}


@blp.route("/<int:store_id>/tills/<int:till_id>/revoke", methods=["POST"])
@blp.response(200, schemas.TillSchema)
def revoke_till(store_id: int, till_id: int):  # type: ignore[no-untyped-def]
    """Revoke a till's token: its next request gets 401.  Revoking twice changes nothing."""
    principal = current_principal()
    principal.check_store(store_id)
    return services.revoke_till(db_session(), till_id, principal.actor, store_id=store_id)
