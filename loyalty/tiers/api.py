"""The tier ladder for admins: read it, set it as a whole (docs/POINTS.md, "Tiers").

Setting the ladder is audit-logged with the caller.
"""

from __future__ import annotations

from flask_smorest import Blueprint

from loyalty.auth.principal import current_principal
from loyalty.http import db_session
from loyalty.tiers import schemas, services

URL_PREFIX = "/tiers"
blp = Blueprint("tiers", __name__, description="Tier ladder")


@blp.route("", methods=["GET"])
@blp.response(200, schemas.TierSchema(many=True))
def list_tiers():  # type: ignore[no-untyped-def]
    """The ladder, lowest rank first."""
    return services.list_tiers(db_session())


@blp.route("", methods=["PUT"])
@blp.arguments(schemas.LadderInSchema)
@blp.response(200, schemas.TierSchema(many=True))
def set_tiers(data: dict):  # type: ignore[no-untyped-def]
    """Make the ladder exactly ``tiers``, lowest first.  Thresholds must increase; a tier
    left out is removed, which is refused (409) while a member holds it."""
    return services.set_tier_ladder(db_session(), data["tiers"],
                                    actor=current_principal().actor)
