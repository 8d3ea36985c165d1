"""The user's profile and personal API tokens."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_login import login_required

from webapp import security
from webapp.extensions import csrf
from webapp.forms import ConfirmForm
from webapp.forms import DisableTwoFactorForm
from webapp.forms import ProfileForm
from webapp.forms import TokenForm
from webapp.forms import TotpCodeForm
from webapp.forms import apply_errors
from webapp.models.choices import SessionEnd
from webapp.presenters import sessions as sessions_view
from webapp.services import accounts
from webapp.services import phones
from webapp.services import push
from webapp.services import sessions
from webapp.services import tokens
from webapp.services import two_factor as two_factor_service
from webapp.services import unsubscribe as unsubscribe_links
from webapp.services.errors import ValidationError

bp = Blueprint("profile", __name__, url_prefix="/profil")


def _render(profile_form=None, token_form=None, new_token=None, status=200):
    profile_form = profile_form or ProfileForm(obj=current_user)
    return render_template(
        "profile/index.html",
        form=profile_form,
        token_form=token_form or TokenForm(),
        revoke_form=ConfirmForm(),
        new_token=new_token,
        tokens=[t for t in current_user.api_tokens],
        two_factor_on=two_factor_service.is_enabled(current_user),
        two_factor_required=two_factor_service.required_for(current_user),
        **_devices(),
    ), status


def _devices() -> dict:
    """The « Appareils connectés » section's context."""
    current = security.current_session()
    return {
        "devices": sessions_view.device_rows(
            sessions.list_for(current_user), current.id if current else None
        ),
        "sessions_limits": sessions_view.limits_text(sessions.policy_for(current_user)),
    }


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    """Edit name, phone and language."""
    form = ProfileForm(obj=current_user) if request.method == "GET" else ProfileForm()
    if form.validate_on_submit():
        try:
            accounts.update_profile(
                current_user, name=form.name.data, phone=form.phone.data, locale=form.locale.data
            )
        except ValidationError as exc:
            apply_errors(form, exc, "name")
        else:
            flash(_("Profil enregistré."), "success")
            return redirect(url_for("profile.index"))
    return _render(profile_form=form, status=400 if request.method == "POST" else 200)


@bp.route("/jetons", methods=["POST"])
@login_required
def create_token():
    """Create a personal API token; its value is shown once."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _render(token_form=form, status=400)
    clear, _token = tokens.create(current_user, form.token_name.data)
    flash(_("Jeton créé. Copiez-le maintenant : il ne sera plus jamais affiché."), "success")
    return _render(new_token=clear, status=201)


@bp.route("/jetons/<int:token_id>/revoquer", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    """Revoke one of the user's tokens."""
    form = ConfirmForm()
    if form.validate_on_submit():
        token = tokens.revoke(current_user, token_id)
        flash(_("Le jeton « %(name)s » est révoqué.", name=token.name), "success")
    return redirect(url_for("profile.index"))


# -- Signed-in devices (templates/profile/_sessions.html) --------------------------------


@bp.route("/connexions/<int:session_id>/fermer", methods=["POST"])
@login_required
def end_session(session_id: int):
    """End one of the user's signed-in sessions (this device's: sign out)."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("profile.index") + "#sessions")
    current = security.current_session()
    if current is not None and current.id == session_id:
        security.sign_out(SessionEnd.ENDED_BY_USER)
        flash(_("Vous êtes déconnecté."), "info")
        return redirect(url_for("auth.login"))
    ended = sessions.revoke_one(current_user, session_id)
    flash(_("« %(device)s » est déconnecté.", device=ended.device), "success")
    return redirect(url_for("profile.index") + "#sessions")


@bp.route("/connexions/fermer-les-autres", methods=["POST"])
@login_required
def end_other_sessions():
    """End every signed-in session of the user but this device's."""
    form = ConfirmForm()
    if form.validate_on_submit():
        current = security.current_session()
        count = sessions.revoke_all_for(
            current_user,
            except_current=current.id if current else None,
            reason=SessionEnd.ENDED_BY_USER,
        )
        if count:
            flash(
                ngettext(
                    "%(num)d autre appareil est déconnecté.",
                    "%(num)d autres appareils sont déconnectés.",
                    count,
                ),
                "success",
            )
        else:
            flash(_("Aucun autre appareil n’était connecté."), "info")
    return redirect(url_for("profile.index") + "#sessions")


# -- Web Push devices (templates/profile/_push_devices.html, without JavaScript) ---------


def _push_back():
    """Back to the alerts settings page (the profile page until it exists)."""
    endpoint = (
        "profile.alerts" if "profile.alerts" in current_app.view_functions else "profile.index"
    )
    return redirect(url_for(endpoint) + "#push-devices")


@bp.route("/appareils/<int:subscription_id>/test", methods=["POST"])
@login_required
def push_test(subscription_id: int):
    """Queue a test notification to one of the user's devices."""
    form = ConfirmForm()
    if form.validate_on_submit():
        device = push.get(current_user, subscription_id)
        push.send_test(current_user, device)
        flash(_("Notification de test envoyée à « %(name)s ».", name=device.label), "success")
    return _push_back()


@bp.route("/appareils/<int:subscription_id>/retirer", methods=["POST"])
@login_required
def push_remove(subscription_id: int):
    """Stop sending alerts to one of the user's devices."""
    form = ConfirmForm()
    if form.validate_on_submit():
        device = push.unsubscribe(current_user, subscription_id)
        flash(_("« %(name)s » ne recevra plus les alertes.", name=device.label), "success")
    return _push_back()


# One-click unsubscribe from alert messages (RFC 8058), by the signed link they carry:
# no login, and no CSRF token since the mail client itself POSTs it (the token in the
# URL is the proof). A GET never unsubscribes (link scanners open every link): it shows
# a button that POSTs.


@bp.route("/alertes/desabonnement/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    """Confirm (GET) or apply (POST) the unsubscribe link of an alert message."""
    try:
        if request.method == "POST":
            subscription = unsubscribe_links.unsubscribe(token)
        else:
            subscription = unsubscribe_links.read(token)
    except unsubscribe_links.InvalidLink as exc:
        return render_template("profile/unsubscribe_invalid.html", message=exc.message), exc.status
    return render_template(
        "profile/unsubscribe.html",
        token=token,
        how=unsubscribe_links.channel_label(subscription.channel),
        address=subscription.user.email if subscription.channel == "email" else None,
        done=request.method == "POST",
    )


# -- Mobile number for SMS alerts (templates/profile/_phone.html) ------------------------


def _phone_back():
    """Back to the alerts settings page (the profile page until it exists)."""
    endpoint = (
        "profile.alerts" if "profile.alerts" in current_app.view_functions else "profile.index"
    )
    return redirect(url_for(endpoint) + "#phone")


@bp.route("/telephone", methods=["POST"])
@login_required
def phone_request():
    """Store a mobile number (unconfirmed) and send it a confirmation code by SMS."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash(_("Le jeton de sécurité du formulaire est invalide. Rechargez la page."), "error")
        return _phone_back()
    try:
        number = phones.request_code(current_user, request.form.get("phone", ""))
    except ValidationError as exc:
        flash(" ".join(exc.errors.values()), "error")
    else:
        flash(
            _("Un code a été envoyé par SMS au %(number)s.", number=phones.display(number)),
            "success",
        )
    return _phone_back()


@bp.route("/telephone/confirmer", methods=["POST"])
@login_required
def phone_confirm():
    """Confirm the user's mobile number with the code received by SMS."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash(_("Le jeton de sécurité du formulaire est invalide. Rechargez la page."), "error")
        return _phone_back()
    try:
        phones.confirm(current_user, request.form.get("code", ""))
    except ValidationError as exc:
        flash(" ".join(exc.errors.values()), "error")
    else:
        flash(_("Numéro confirmé : vous pouvez recevoir les alertes par SMS."), "success")
    return _phone_back()


# -- Two-factor sign-in (templates/profile/two_factor.html) ------------------------------


def _two_factor_page(*, code_form=None, disable_form=None, recovery_codes=None, status=200):
    return render_template(
        "profile/two_factor.html",
        record=two_factor_service.record_for(current_user),
        enrolment=two_factor_service.pending_enrolment(current_user),
        required=two_factor_service.required_for(current_user),
        held=security.must_enrol(),
        codes_left=two_factor_service.recovery_codes_left(current_user),
        recovery_codes=recovery_codes,
        start_form=ConfirmForm(),
        code_form=code_form or TotpCodeForm(),
        renew_form=TotpCodeForm(prefix="renew"),
        disable_form=disable_form or DisableTwoFactorForm(),
    ), status


def _this_session_id() -> int | None:
    current = security.current_session()
    return current.id if current else None


@bp.route("/double-authentification")
@login_required
def two_factor():
    """Two-factor sign-in: turn it on (QR code), renew recovery codes, turn it off."""
    return _two_factor_page()


@bp.route("/double-authentification/activer", methods=["POST"])
@login_required
def two_factor_start():
    """Draw a new secret and show its QR code (pending until a first code confirms it)."""
    form = ConfirmForm()
    if form.validate_on_submit():
        two_factor_service.begin_enrolment(current_user)
    return redirect(url_for("profile.two_factor") + "#enrol")


@bp.route("/double-authentification/confirmer", methods=["POST"])
@login_required
def two_factor_confirm():
    """Confirm the enrolment with a first code: the recovery codes are shown, once."""
    form = TotpCodeForm()
    if form.validate_on_submit():
        try:
            codes = two_factor_service.confirm_enrolment(
                current_user, form.code.data, keep_session=_this_session_id()
            )
        except ValidationError as exc:
            apply_errors(form, exc, "code")
        else:
            flash(_("La double authentification est activée."), "success")
            return _two_factor_page(recovery_codes=codes)
    return _two_factor_page(code_form=form, status=400)


@bp.route("/double-authentification/codes-de-secours", methods=["POST"])
@login_required
def two_factor_renew():
    """New recovery codes (the previous ones stop working), with a current code."""
    form = TotpCodeForm(prefix="renew")
    if form.validate_on_submit():
        try:
            codes = two_factor_service.renew_recovery_codes(current_user, form.code.data)
        except ValidationError as exc:
            flash(" ".join(exc.errors.values()), "error")
        else:
            flash(_("Nouveaux codes de secours : les précédents ne fonctionnent plus."), "success")
            return _two_factor_page(recovery_codes=codes)
    else:
        flash(_("Saisissez le code affiché par votre application."), "error")
    return _two_factor_page(status=400)


@bp.route("/double-authentification/desactiver", methods=["POST"])
@login_required
def two_factor_disable():
    """Turn two-factor sign-in off (password and a code again); refused where required."""
    form = DisableTwoFactorForm()
    if form.validate_on_submit():
        try:
            two_factor_service.disable(
                current_user,
                password=form.password.data,
                code=form.code.data,
                keep_session=_this_session_id(),
            )
        except ValidationError as exc:
            apply_errors(form, exc, "code")
        else:
            flash(_("La double authentification est désactivée."), "success")
            return redirect(url_for("profile.two_factor"))
    return _two_factor_page(disable_form=form, status=400)
