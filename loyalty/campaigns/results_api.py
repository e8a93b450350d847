"""A campaign's results and fairness for marketers, and for store managers their own store's
results (docs/CAMPAIGNS.md, "Results" and "Fairness")."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint

from loyalty.auth.principal import current_principal
from loyalty.campaigns import results_schemas as schemas
from loyalty.campaigns.fairness import fairness
from loyalty.campaigns.results import campaign_results
from loyalty.http import db_session

URL_PREFIX = "/campaigns"
blp = Blueprint("campaign_results", __name__,
                description="Campaign results: treatment against holdout, and fairness")


def _point_value() -> int:
    return current_app.extensions["loyalty.settings"].point_value_minor


@blp.route("/<int:campaign_id>/results", methods=["GET"])
@blp.arguments(schemas.ResultsArgsSchema, location="query")
@blp.response(200, schemas.ResultsSchema)
def get_results(args: dict, campaign_id: int):  # type: ignore[no-untyped-def]
    """Treatment against holdout over the attribution window: members, visits and spend per
    member, redemption rate, incremental revenue with its 95% interval, cost and ROI, and the
    series the charts draw.  A store manager sees their own store's figures only."""
    principal = current_principal()
    store_id = args.get("store")
    if store_id is not None:
        principal.check_store(store_id)
    elif principal.store_id is not None:
        store_id = principal.store_id
    return campaign_results(db_session(), campaign_id, store_id=store_id,
                            point_value_minor=_point_value())


@blp.route("/<int:campaign_id>/fairness", methods=["GET"])
@blp.arguments(schemas.FairnessArgsSchema, location="query")
@blp.response(200, schemas.FairnessSchema)
def get_fairness(args: dict, campaign_id: int):  # type: ignore[no-untyped-def]
    """Reach (share of eligible members offered a coupon) and mean offer value by RFM segment,
    tier, gender and age band; groups far from the average are flagged."""
    return fairness(db_session(), campaign_id, point_value_minor=_point_value(),
                    min_members=args["min_members"])


@blp.route("/fairness", methods=["GET"])
@blp.arguments(schemas.FairnessArgsSchema, location="query")
@blp.response(200, schemas.FairnessSchema)
def get_programme_fairness(args: dict):  # type: ignore[no-untyped-def]
    """The same for the whole programme: every member enrolled by now, every campaign's
    coupons."""
    return fairness(db_session(), None, point_value_minor=_point_value(),
                    min_members=args["min_members"])
