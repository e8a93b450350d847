"""The members' portal pages.  Every change is a POST with the form's CSRF token; GETs only show.

Sign-in attempts (password or code) and code requests are rate-limited per contact and client
address (loyalty/limits.py).  Every refusal to sign in reads the same, whichever part was
wrong; asking for a code answers the same whether or not the contact belongs to a member.
"""

from __future__ import annotations

import json
import logging

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded

from loyalty.accounts.export import member_data
from loyalty.accounts.models import CodePurpose
from loyalty.accounts.plastic import claim_card
from loyalty.accounts.services import (
    Contact,
    find_account,
    issue_code,
    join,
    read_contact,
    reset_password,
    sign_in_with_code,
    sign_in_with_password,
    verify_contact,
)
from loyalty.accounts.statement import active_cards as statement_cards
from loyalty.accounts.statement import statement
from loyalty.audit.services import record_event
from loyalty.campaigns.explain import explain
from loyalty.cards import render
from loyalty.cards.services import replace_card
from loyalty.coupons import images as coupon_images
from loyalty.coupons.codes import display_code
from loyalty.coupons.services import (
    active_coupons,
    coupon_payload,
    coupon_signing_key,
    find_coupon,
)
from loyalty.db import utcnow
from loyalty.errors import Conflict, InvalidInput, Unauthorized, UnknownCoupon
from loyalty.http import db_session
from loyalty.members.models import Channel
from loyalty.members.services import current_consents, record_consent, update_member
from loyalty.messaging.transports import DeliveryError
from web.i18n import LANGUAGES, current_language, remember_language
from web.portal.codes import send_code
from web.portal.session import (
    forget_pending,
    pending,
    remember_pending,
    sign_in_member,
    sign_out_member,
    signed_in_member,
)

log = logging.getLogger(__name__)
bp = Blueprint("portal", __name__, url_prefix="/my")
Page = str | Response | tuple[str, int]

def _refusal(exc: InvalidInput | Conflict) -> str:
    """What a member is told for each refusal the accounts slice names (its ``code_hint``)."""
    hint = exc.extra.get("code_hint", "")
    if hint == "password_length":
        return _("A password has 8 to 128 characters.")
    if hint == "common_password":
        return _("This password is too common: it is on a list of passwords people use "
                 "most. Choose another.")
    if hint == "bad_contact":
        return _("Enter an email address, or a phone number with its country code (+971...).")
    if hint == "contact_taken":
        return _("This email or phone belongs to a member already. Sign in, or reset the "
                 "password.")
    return _("Check the form and try again.")


@bp.before_request
def _load_member() -> None:
    signed_in_member()  # before any translation: a member's language is the page's default


@bp.get("/")
def account() -> Page:
    member = signed_in_member()
    if member is None:
        return redirect(url_for("portal.sign_in"))
    return render_template("portal/account.html", statement=statement(db_session(), member.id))


# The consent text shown on the profile page (web/templates/portal/profile.html); change the
# version whenever the text changes, so each recorded decision names what the member read.
CONSENT_TEXT_VERSION = "portal-1"


@bp.route("/profile", methods=["GET", "POST"])
def profile() -> Page:
    """Name, language and preferred channel; marketing consent per channel."""
    member = signed_in_member()
    if member is None:
        return redirect(url_for("portal.sign_in"))
    consents = current_consents(db_session(), member.id)
    granted = {channel.value: bool(r and r.granted) for channel, r in consents.items()}
    if request.method == "GET":
        return render_template("portal/profile.html", member=member, granted=granted)
    form = request.form
    changes = {"name": form.get("name", "")[:200],
               "language": form.get("language", ""),
               "preferred_channel": form.get("preferred_channel", "")}
    if changes["language"] not in LANGUAGES or "\x00" in changes["name"]:
        return render_template("portal/profile.html", member=member, granted=granted,
                               error=_("Check the form and try again.")), 422
    try:
        update_member(db_session(), member.id, changes, actor=f"member:{member.id}")
    except (InvalidInput, Conflict):
        db_session().rollback()
        return render_template("portal/profile.html", member=member, granted=granted,
                               error=_("Check the form and try again.")), 422
    response = redirect(url_for("portal.profile", saved=1))
    remember_language(response, changes["language"])
    return response


@bp.post("/consent")
def consent() -> Page:
    """One decision on one channel, recorded with the text's version: giving and withdrawing
    are the same one button."""
    member = signed_in_member()
    if member is None:
        return redirect(url_for("portal.sign_in"))
    channel, decision = request.form.get("channel", ""), request.form.get("granted", "")
    if channel not in {c.value for c in Channel} or decision not in {"yes", "no"}:
        abort(400)
    record_consent(db_session(), member.id, channel, decision == "yes", CONSENT_TEXT_VERSION,
                   source="portal")
    return redirect(url_for("portal.profile", saved=1))


@bp.get("/card")
def card() -> Page:
    """The digital card: a large QR code and barcode to scan from the screen at the till."""
    member = signed_in_member()
    if member is None:
        return redirect(url_for("portal.sign_in"))
    return render_template("portal/card.html", number=_card_number(member.id))


@bp.get("/card/<any(qr, barcode):kind>.png")
def card_image(kind: str) -> Response:
    member = signed_in_member()
    number = _card_number(member.id) if member is not None else None
    if number is None:
        abort(404)
    image = (render.qr_image(number, "png") if kind == "qr"
             else render.screen_barcode_png(number))
    response = Response(image, mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"  # a card may be blocked any time
    return response


@bp.post("/card/lost")
def card_lost() -> Page:
    """Lost card: blocked at once (the till refuses it as replaced), a new one in its place,
    every point kept (points live on the member, not on a card)."""
    member = signed_in_member()
    number = _card_number(member.id) if member is not None else None
    if member is None or number is None:
        return redirect(url_for("portal.card"))
    settings = current_app.extensions["loyalty.settings"]
    replace_card(db_session(), number, settings.card_prefix, settings.card_length,
                 reason="reported lost by the member on the portal", actor=f"member:{member.id}")
    return redirect(url_for("portal.card", replaced=1))


@bp.post("/data")
def download_data() -> Page:
    """Everything held about the member, as a JSON file (a POST: each export is audited)."""
    member = signed_in_member()
    if member is None:
        return redirect(url_for("portal.sign_in"))
    data = member_data(db_session(), member.id)
    record_event(db_session(), f"member:{member.id}", "member.export", f"member:{member.id}")
    return Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="my-data.json"',
                             "Cache-Control": "no-store"})


@bp.get("/coupons")
def coupons() -> Page:
    """The coupon wallet: each usable coupon with its QR code and barcode for the till."""
    member = signed_in_member()
    if member is None:
        return redirect(url_for("portal.sign_in"))
    wallet = active_coupons(db_session(), member.id, utcnow())
    language = current_language().code
    return render_template("portal/coupons.html", coupons=wallet, display_code=display_code,
                           why=lambda coupon: explain(coupon.explanation, language))


@bp.get("/coupons/<string(maxlength=40):code>/<any(qr, barcode):kind>.png")
def coupon_image(code: str, kind: str) -> Response:
    """A coupon's image, for its own member only: anyone else gets 404, as for no coupon."""
    member = signed_in_member()
    try:
        coupon = find_coupon(db_session(), code)
    except UnknownCoupon:
        abort(404)
    if member is None or coupon.member_id != member.id:
        abort(404)
    if kind == "qr":
        image = coupon_images.qr_image(coupon_payload(coupon, _coupon_key()), "png")
    else:
        image = coupon_images.barcode_image(coupon.code, "png", display_code(coupon.code))
    response = Response(image, mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _coupon_key():  # type: ignore[no-untyped-def]
    """The coupon signing key, loaded once per app (the same one the API's QR codes use)."""
    key = current_app.extensions.get("loyalty.coupon_key")
    if key is None:
        key = coupon_signing_key(current_app.extensions["loyalty.settings"])
        current_app.extensions["loyalty.coupon_key"] = key
    return key


def _card_number(member_id: int) -> str | None:
    """The member's newest active card (a replacement supersedes the card it replaced)."""
    cards = statement_cards(db_session(), member_id)
    return cards[-1] if cards else None


@bp.route("/join", methods=["GET", "POST"])
def join_page() -> Page:
    if request.method == "GET":
        return render_template("portal/join.html", form={})
    form = request.form
    name = form.get("name", "").strip()
    if not 0 < len(name) <= 200 or "\x00" in name:
        return render_template("portal/join.html", form=form,
                               error=_("Enter your name.")), 422
    settings = current_app.extensions["loyalty.settings"]
    try:
        contact = read_contact(form.get("contact", ""))
        member, _card = join(db_session(), name=name, contact=contact,
                             password=form.get("password", ""),
                             language=current_language().code,
                             card_prefix=settings.card_prefix, card_length=settings.card_length)
    except (InvalidInput, Conflict) as exc:
        return render_template("portal/join.html", form=form, error=_refusal(exc)), 422
    return _send_and_ask(contact, member.id, member.language, CodePurpose.VERIFY)


def _send_and_ask(contact: Contact, member_id: int, language: str,
                  purpose: CodePurpose) -> Page:
    """Issue a code, commit it, send it and show the page that asks for it."""
    issued = issue_code(db_session(), member_id, purpose)
    db_session().commit()  # the code exists before it leaves
    try:
        send_code(contact, issued, purpose, language)
    except DeliveryError as exc:
        log.warning("one-time code %s not sent: %s", issued.id, exc)  # no address, no code
        return render_template("portal/message.html", title=_("We could not send the code"),
                               message=_("Please try again in a few minutes.")), 503
    remember_pending(contact.address, purpose.value)
    return redirect(url_for(_CODE_PAGES[purpose]))


_CODE_PAGES = {CodePurpose.VERIFY: "portal.verify", CodePurpose.SIGN_IN: "portal.sign_in_code",
               CodePurpose.RESET: "portal.reset"}


@bp.route("/claim", methods=["GET", "POST"])
def claim() -> Page:
    """A plastic card from the store: its number and the code printed on it make it theirs."""
    if request.method == "GET":
        return render_template("portal/claim.html", form={})
    form = request.form
    settings = current_app.extensions["loyalty.settings"]
    name = form.get("name", "").strip()
    if not 0 < len(name) <= 200 or "\x00" in name:
        return render_template("portal/claim.html", form=form,
                               error=_("Enter your name.")), 422
    try:
        contact = read_contact(form.get("contact", "")[:300])
        member = claim_card(db_session(), number=form.get("number", "")[:64],
                            code=form.get("code", "")[:32], name=name, contact=contact,
                            password=form.get("password", ""),
                            language=current_language().code,
                            card_prefix=settings.card_prefix, card_length=settings.card_length)
    except (InvalidInput, Conflict) as exc:
        return render_template("portal/claim.html", form=form, error=_refusal(exc)), 422
    except Unauthorized:
        return render_template("portal/claim.html", form=form,
                               error=_("That card number and code do not match a card "
                                       "waiting to be claimed.")), 401
    return _send_and_ask(contact, member.id, member.language, CodePurpose.VERIFY)


@bp.route("/verify", methods=["GET", "POST"])
def verify() -> Page:
    contact = pending(CodePurpose.VERIFY.value)
    if contact is None:
        return redirect(url_for("portal.sign_in"))
    if request.method == "GET":
        return render_template("portal/verify.html", contact=contact)
    found = find_account(db_session(), read_contact(contact))
    try:
        if found is None:
            raise Unauthorized()
        verify_contact(db_session(), found[0].id, request.form.get("code", "")[:20])
    except Unauthorized:
        db_session().commit()  # a wrong try counts even though the page says no
        return render_template("portal/verify.html", contact=contact,
                               error=_("That code is wrong or has expired.")), 401
    return _signed_in(found[0])


@bp.post("/verify/resend")
def resend_verification() -> Page:
    contact = pending(CodePurpose.VERIFY.value)
    found = find_account(db_session(), read_contact(contact)) if contact else None
    if found is None or found[1].verified_at is not None:
        return redirect(url_for("portal.sign_in"))
    return _send_and_ask(read_contact(contact), found[0].id, found[0].language,  # type: ignore[arg-type]
                         CodePurpose.VERIFY)


def _signed_in(member) -> Response:  # type: ignore[no-untyped-def]
    forget_pending()
    sign_in_member(member)
    response = redirect(url_for("portal.account"))
    remember_language(response, member.language)  # their own language from now on
    return response


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Page:
    if request.method == "GET":
        return render_template("portal/sign_in.html", form={})
    form = request.form
    try:
        contact = read_contact(form.get("contact", "")[:300])
        member = sign_in_with_password(db_session(), contact, form.get("password", "")[:1024])
    except (InvalidInput, Unauthorized):
        return render_template("portal/sign_in.html", form=form,
                               error=_("Wrong email, phone or password.")), 401
    return _signed_in(member)


@bp.post("/sign-in/code/send")
def request_sign_in_code() -> Page:
    return _request_code(CodePurpose.SIGN_IN, "portal/sign_in.html")


def _request_code(purpose: CodePurpose, template: str) -> Page:
    """Send a code if the contact has an account; the same next page either way."""
    try:
        contact = read_contact(request.form.get("contact", "")[:300])
    except InvalidInput as exc:
        return render_template(template, form=request.form, error=_refusal(exc)), 422
    found = find_account(db_session(), contact)
    if found is None or (purpose is CodePurpose.SIGN_IN and found[1].verified_at is None):
        remember_pending(contact.address, purpose.value)
        return redirect(url_for(_CODE_PAGES[purpose]))
    return _send_and_ask(contact, found[0].id, found[0].language, purpose)


@bp.route("/sign-in/code", methods=["GET", "POST"])
def sign_in_code() -> Page:
    contact = pending(CodePurpose.SIGN_IN.value)
    if contact is None:
        return redirect(url_for("portal.sign_in"))
    if request.method == "GET":
        return render_template("portal/code.html", contact=contact)
    try:
        member = sign_in_with_code(db_session(), read_contact(contact),
                                   request.form.get("code", "")[:20])
    except Unauthorized:
        db_session().commit()  # a wrong try counts
        return render_template("portal/code.html", contact=contact,
                               error=_("That code is wrong or has expired.")), 401
    return _signed_in(member)


@bp.route("/reset/send", methods=["GET", "POST"])
def request_reset() -> Page:
    if request.method == "GET":
        return render_template("portal/forgot.html", form={})
    return _request_code(CodePurpose.RESET, "portal/forgot.html")


@bp.route("/reset", methods=["GET", "POST"])
def reset() -> Page:
    contact = pending(CodePurpose.RESET.value)
    if contact is None:
        return redirect(url_for("portal.request_reset"))
    if request.method == "GET":
        return render_template("portal/reset.html", contact=contact)
    try:
        member = reset_password(db_session(), read_contact(contact),
                                request.form.get("code", "")[:20],
                                request.form.get("password", ""))
    except InvalidInput as exc:
        return render_template("portal/reset.html", contact=contact, error=_refusal(exc)), 422
    except Unauthorized:
        db_session().commit()  # a wrong try counts
        return render_template("portal/reset.html", contact=contact,
                               error=_("That code is wrong or has expired.")), 401
    return _signed_in(member)


@bp.post("/sign-out")
def sign_out() -> Response:
    sign_out_member()
    return redirect(url_for("portal.sign_in"))


@bp.errorhandler(RateLimitExceeded)
def _too_many_attempts(exc: RateLimitExceeded) -> tuple[str, int, dict[str, str]]:
    retry_after = exc.response.headers.get("Retry-After", "60") if exc.response else "60"
    page = render_template("portal/message.html", title=_("Too many attempts"),
                           message=_("Too many attempts. Try again in a minute."))
    return page, 429, {"Retry-After": retry_after}
