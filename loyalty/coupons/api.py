"""HTTP API for the coupons slice: load with a schema, call one service, dump the result."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Response, current_app
from flask_smorest import Blueprint

from loyalty.auth.principal import current_principal
from loyalty.coupons import schemas, services, signing
from loyalty.coupons.codes import display_code
from loyalty.coupons.images import MEDIA_TYPES, ImageFormat, barcode_image, qr_image
from loyalty.http import db_session

URL_PREFIX = "/coupons"
blp = Blueprint("coupons", __name__, description="Coupons: issue, look up, images, public key")

_IMAGE_DOC = {"responses": {"200": {"description": "The image",
                                    "content": {t: {} for t in MEDIA_TYPES.values()}}}}


def _signing_key() -> Ed25519PrivateKey:
    """Loaded once per app: the key file does not change while the app runs."""
    key = current_app.extensions.get("loyalty.coupon_key")
    if key is None:
        key = services.coupon_signing_key(current_app.extensions["loyalty.settings"])
        current_app.extensions["loyalty.coupon_key"] = key
    return key


@blp.route("/public-key", methods=["GET"])
@blp.response(200, schemas.PublicKeySchema)
def public_key():  # type: ignore[no-untyped-def]
    """The programme's Ed25519 public key, for tills to verify coupon QR payloads offline."""
    key = _signing_key()
    return {
        "algorithm": signing.ALGORITHM,
        "key_id": signing.key_id(key),
        "pem": signing.public_key_pem(key),
        "raw_base64": base64.b64encode(signing.public_key_raw(key)).decode("ascii"),
        "payload_format": f"{signing.FORMAT}.<base64url JSON claims>.<base64url signature "
                          f"over '{signing.FORMAT}.<claims>'>",
    }


@blp.route("", methods=["POST"])
@blp.arguments(schemas.IssueCouponSchema)
@blp.response(201, schemas.CouponSchema)
def issue_coupon(data: dict):  # type: ignore[no-untyped-def]
    """Issue a coupon to a member by hand; audit-logged.

    A store manager issues coupons for their own store only (the default when none is named).
    """
    principal = current_principal()
    if principal.store_id is not None:
        if data["store_id"] is None:
            data["store_id"] = principal.store_id
        principal.check_store(data["store_id"])
    member_id, valid_from, valid_to = (data.pop(k) for k in ("member_id", "valid_from",
                                                             "valid_to"))
    coupon = services.issue_coupon(
        db_session(), member_id, services.Offer(**data), staff_id=principal.id,
        actor=principal.actor, valid_from=valid_from, valid_to=valid_to,
    )
    return services.coupon_card(coupon, _signing_key())


@blp.route("", methods=["GET"])
@blp.arguments(schemas.CouponListArgsSchema, location="query")
@blp.response(200, schemas.CouponSchema(many=True))
def list_coupons(args: dict):  # type: ignore[no-untyped-def]
    """A member's coupons, newest first (``member_id``, optional ``status``)."""
    session = db_session()
    coupons = services.list_coupons(session, args["member_id"], args["status"])
    key = _signing_key()
    language = services.member_language(session, args["member_id"])
    return [services.coupon_card(c, key, language) for c in coupons]


@blp.route("/<code>", methods=["GET"])
@blp.response(200, schemas.CouponSchema)
def get_coupon(code: str):  # type: ignore[no-untyped-def]
    """One coupon by code (dashes, spaces and case do not matter), with its QR payload and,
    for a campaign coupon, why the member got it (``explanation``, ``why``)."""
    session = db_session()
    coupon = services.find_coupon(session, code)
    return services.coupon_card(coupon, _signing_key(),
                                services.member_language(session, coupon.member_id))


@blp.route("/<code>/barcode.<any(svg, png):fmt>", methods=["GET"])
@blp.doc(**_IMAGE_DOC)
def barcode(code: str, fmt: ImageFormat):  # type: ignore[no-untyped-def]
    """The coupon code as a Code 128 barcode (SVG or PNG)."""
    coupon = services.find_coupon(db_session(), code)
    image = barcode_image(coupon.code, fmt, caption=display_code(coupon.code))
    return Response(image, mimetype=MEDIA_TYPES[fmt])


@blp.route("/<code>/qr.<any(svg, png):fmt>", methods=["GET"])
@blp.doc(**_IMAGE_DOC)
def qr_code(code: str, fmt: ImageFormat):  # type: ignore[no-untyped-def]
    """The coupon's signed payload as a QR code (SVG or PNG)."""
    coupon = services.find_coupon(db_session(), code)
    return Response(qr_image(services.coupon_payload(coupon, _signing_key()), fmt),
                    mimetype=MEDIA_TYPES[fmt])
