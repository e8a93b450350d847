"""Campaigns for marketers: define, dry-run, launch, cancel, follow their runs
(docs/CAMPAIGNS.md).  Only marketers and admins change campaigns; store managers may read them."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint

from loyalty.auth.principal import current_principal
from loyalty.campaigns import schemas, services
from loyalty.http import db_session

URL_PREFIX = "/campaigns"
blp = Blueprint("campaigns", __name__,
                description="Campaigns: targeted coupons with a holdout, a budget and a dry run")


def _point_value() -> int:
    return current_app.extensions["loyalty.settings"].point_value_minor


@blp.route("", methods=["GET"])
@blp.arguments(schemas.CampaignListArgsSchema, location="query")
@blp.response(200, schemas.CampaignSchema(many=True))
def list_campaigns(args: dict):  # type: ignore[no-untyped-def]
    """Every campaign (optionally in one ``status``), newest first, with reach and spend."""
    return services.list_campaigns(db_session(), args["status"])


@blp.route("", methods=["POST"])
@blp.arguments(schemas.CampaignInSchema)
@blp.response(201, schemas.CampaignSchema)
def create_campaign(data: dict):  # type: ignore[no-untyped-def]
    """A draft campaign.  Every part is checked first; a bad audience rule answers 422
    ``invalid_segment_rule`` with its JSON path, money in another currency 422
    ``currency_mismatch``.  Audit-logged."""
    session = db_session()
    campaign = services.create_campaign(session, data, actor=current_principal().actor)
    return services.campaign_summary(session, campaign.id)


@blp.route("/<int:campaign_id>", methods=["GET"])
@blp.response(200, schemas.CampaignSchema)
def get_campaign(campaign_id: int):  # type: ignore[no-untyped-def]
    """One campaign, with its reach and spend."""
    return services.campaign_summary(db_session(), campaign_id)


@blp.route("/<int:campaign_id>", methods=["PATCH"])
@blp.arguments(schemas.CampaignUpdateSchema(partial=True))
@blp.response(200, schemas.CampaignSchema)
def update_campaign(data: dict, campaign_id: int):  # type: ignore[no-untyped-def]
    """Change a draft (only the fields sent).  Once launched the definition is frozen: 409
    ``campaign_frozen``."""
    session = db_session()
    services.update_campaign(session, campaign_id, data, actor=current_principal().actor)
    return services.campaign_summary(session, campaign_id)


@blp.route("/<int:campaign_id>/dry-run", methods=["POST"])
@blp.arguments(schemas.DryRunArgsSchema)
@blp.response(200, schemas.DryRunSchema)
def dry_run(data: dict, campaign_id: int):  # type: ignore[no-untyped-def]
    """Who would get what now: treated and held-out counts, a sample of members with their
    explanation, the worst-case cost against the budget.  Changes nothing."""
    return services.dry_run(db_session(), campaign_id, sample=data["sample"],
                            point_value_minor=_point_value())


@blp.route("/<int:campaign_id>/launch", methods=["POST"])
@blp.response(200, schemas.CampaignSchema)
def launch_campaign(campaign_id: int):  # type: ignore[no-untyped-def]
    """Launch a draft: scheduled until its start, then running (its first run starts at once
    when the start has come).  Launching again answers 409 ``already_launched``."""
    session = db_session()
    services.launch_campaign(session, campaign_id, actor=current_principal().actor,
                             point_value_minor=_point_value())
    return services.campaign_summary(session, campaign_id)


@blp.route("/<int:campaign_id>/cancel", methods=["POST"])
@blp.response(200, schemas.CampaignSchema)
def cancel_campaign(campaign_id: int):  # type: ignore[no-untyped-def]
    """Stop a campaign: no more runs or coupons (those issued stay valid).  An ended or
    cancelled campaign answers 409 ``campaign_not_active``."""
    session = db_session()
    services.cancel_campaign(session, campaign_id, actor=current_principal().actor)
    return services.campaign_summary(session, campaign_id)


@blp.route("/<int:campaign_id>/runs", methods=["GET"])
@blp.response(200, schemas.RunSchema(many=True))
def list_runs(campaign_id: int):  # type: ignore[no-untyped-def]
    """The campaign's runs, oldest first, with their members counted by outcome."""
    return services.list_runs(db_session(), campaign_id)
