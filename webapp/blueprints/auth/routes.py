"""Login, logout, password links and language choice."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_required

from webapp import security
from webapp.extensions import limiter
from webapp.forms import ConfirmForm
from webapp.forms import ForgotPasswordForm
from webapp.forms import LanguageForm
from webapp.forms import LoginForm
from webapp.forms import SecondStepForm
from webapp.forms import SetPasswordForm
from webapp.forms import apply_errors
from webapp.i18n import LANG_COOKIE
from webapp.models.choices import SignInMethod
from webapp.services import accounts
from webapp.services import passwords
from webapp.services import two_factor
from webapp.services.errors import ValidationError

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only local paths are followed after login (no open redirect).

    Text only, without control characters: a CR/LF would otherwise end in the
    ``Location`` header (Werkzeug refuses it: a 500), a file part is no path at all.
    """
    if isinstance(target, str) and target.isprintable():
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not (target.startswith("//") or "\\" in target)
        ):
            return target
    return url_for("members.index")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _second_step_limit() -> str:
    return current_app.config["TWO_FACTOR_RATE_LIMIT"]


def _after_sign_in(user, next_url: str | None) -> str:
    """Where a new session goes: the enrolment page first when two-factor is due."""
    if security.must_enrol():
        flash(
            _("Votre rôle impose la double authentification : activez-la pour accéder à Vigie."),
            "info",
        )
        return url_for("profile.two_factor")
    return _safe_next(next_url)


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    """Sign in with e-mail and password."""
    if current_user.is_authenticated:
        return redirect(url_for("members.index"))
    form = LoginForm(next=request.args.get("next", ""))
    error = None
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            try:
                security.sign_in(user, next_url=form.next.data)
            except security.SecondStepRequired:
                return redirect(url_for("auth.verify"))
            return redirect(_after_sign_in(user, form.next.data))
        error = _("Adresse électronique ou mot de passe incorrect.")
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/connexion/verification", methods=["GET", "POST"])
@limiter.limit(_second_step_limit, methods=["POST"])
@limiter.limit(_second_step_limit, methods=["POST"], key_func=security.pending_user_key)
def verify():
    """Second step of a password sign-in: a code of the authenticator, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("members.index"))
    try:
        user, next_url = security.pending_second_step()
    except security.SecondStepExpired:
        flash(_("La vérification a expiré. Reconnectez-vous pour continuer."), "info")
        return redirect(url_for("auth.login"))
    form = SecondStepForm()
    if form.validate_on_submit():
        try:
            method = two_factor.verify(user, form.typed)
        except ValidationError as exc:
            security.note_second_step_failure()
            apply_errors(form, exc, "recovery" if form.recovery.data else "code")
        else:
            security.sign_in(user, method=method)
            if method == SignInMethod.PASSWORD_RECOVERY:
                flash(
                    _(
                        "Code de secours accepté : il ne servira plus. Il vous en reste "
                        "%(num)d ; renouvelez-les sur votre profil si besoin.",
                        num=two_factor.recovery_codes_left(user),
                    ),
                    "info",
                )
            return redirect(_after_sign_in(user, next_url))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/verify.html", form=form), status


@bp.route("/deconnexion", methods=["POST"])
@login_required
def logout():
    """Sign out (POST with CSRF token): the session ends on the server, sockets included."""
    form = ConfirmForm()
    if form.validate_on_submit():
        security.sign_out()
        flash(_("Vous êtes déconnecté."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/mot-de-passe/oubli", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def forgot_password():
    """Ask for a password reset link by e-mail."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        flash(
            _("Si un compte existe pour cette adresse, un lien vient de lui être envoyé."),
            "info",
        )
        return redirect(url_for("auth.login"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/forgot.html", form=form), status


@bp.route("/mot-de-passe/definir/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def set_password(token: str):
    """Choose a password from an invitation or reset link (single use)."""
    try:
        user = accounts.user_for_token(token)
    except ValidationError as exc:
        return render_template("auth/link_invalid.html", message=exc.errors["token"]), 400
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.set_password_with_token(token, form.password.data)
        except ValidationError as exc:
            apply_errors(form, exc, "password")
        else:
            flash(_("Votre mot de passe est enregistré. Vous pouvez vous connecter."), "success")
            return redirect(url_for("auth.login"))
    status = 400 if request.method == "POST" else 200
    meter = passwords.meter_settings(email=user.email, name=user.name)
    return render_template("auth/set_password.html", form=form, user=user, meter=meter), status


@bp.route("/langue", methods=["POST"])
def language():
    """Switch the interface language (cookie; saved on the profile when signed in)."""
    form = LanguageForm()
    target = _safe_next(form.next.data)
    if form.validate_on_submit():
        response = redirect(target)
        response.set_cookie(
            LANG_COOKIE,
            form.lang.data,
            max_age=365 * 86400,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
        )
        if current_user.is_authenticated:
            accounts.update_profile(
                current_user,
                name=current_user.name,
                phone=current_user.phone,
                locale=form.lang.data,
            )
        return response
    flash(_("Langue inconnue."), "error")
    return redirect(target)
