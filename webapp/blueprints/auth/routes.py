"""Login, logout, password links and language choice."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_required

from webapp import proconnect
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


def _account_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_LIMIT"]


def _reset_account_limit() -> str:
    return current_app.config["PASSWORD_RESET_ACCOUNT_LIMIT"]


def _submitted_account() -> str:
    """The rate-limit key of the e-mail address typed: normalised, then digested (the
    limiter's storage, Redis in production, never holds an address). Known and unknown
    addresses are keyed alike, so the limit tells nothing about which exist."""
    return "account:" + accounts.account_key(request.form.get("email", ""))


def _login_failed(_response) -> bool:
    """Only refused credentials count against the account (set by :func:`login`)."""
    return bool(g.get(LOGIN_FAILED))


def _too_many_for_account() -> str:
    return _(
        "Trop de tentatives de connexion pour cette adresse électronique. "
        "Par sécurité, elles sont suspendues pour un moment : réessayez dans une heure "
        "ou demandez un nouveau mot de passe."
    )


def _too_many_resets() -> str:
    return _(
        "Trop de demandes de lien pour cette adresse électronique. "
        "Consultez votre messagerie ou réessayez dans une heure."
    )


LOGIN_FAILED = "vigie_login_failed"  # g: this request's credentials were refused


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
@limiter.limit(
    _account_limit,
    methods=["POST"],
    key_func=_submitted_account,
    scope="login-account",
    deduct_when=_login_failed,
    error_message=_too_many_for_account,
)
def login():
    """Sign in with e-mail and password."""
    if current_user.is_authenticated:
        return redirect(url_for("members.index"))
    if request.method == "GET" and "state" in request.args and proconnect.configured():
        proconnect.back_from_logout(request.args["state"])  # ProConnect's logout is over
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
        g.setdefault(LOGIN_FAILED, True)
        error = _("Adresse électronique ou mot de passe incorrect.")
    status = 400 if request.method == "POST" else 200
    return _login_page(form, error, status)


def _login_page(form: LoginForm, error: str | None, status: int):
    return (
        render_template(
            "auth/login.html",
            form=form,
            error=error,
            proconnect_form=ConfirmForm() if proconnect.configured() else None,
        ),
        status,
    )


def _proconnect_refused(reason: str, message: str, status: int):
    """The login page with why ProConnect could not sign the agent in (an audit line)."""
    if reason not in ("unknown_account", "email_unverified"):  # those are recorded already
        accounts.refuse_proconnect(reason)
    return _login_page(LoginForm(), message, status)


def _proconnect_redirect_uri(endpoint: str) -> str:
    """An absolute URL of Vigie as registered with ProConnect (from ``BASE_URL``)."""
    return current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint)


@bp.route("/connexion/proconnect", methods=["POST"])
@limiter.limit(_login_limit)
def proconnect_login():
    """« S’identifier avec ProConnect »: off to the provider with a fresh state and nonce."""
    if not proconnect.configured():
        return redirect(url_for("auth.login"))
    if current_user.is_authenticated:
        return redirect(url_for("members.index"))
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("auth.login"))
    try:
        return proconnect.authorize_redirect(_proconnect_redirect_uri("auth.proconnect_callback"))
    except proconnect.ProConnectError as exc:
        return _proconnect_refused(exc.reason, exc.message, exc.status)


@bp.route("/connexion/proconnect/retour")
@limiter.limit(_login_limit)
def proconnect_callback():
    """ProConnect's answer: check it, then sign in the Vigie account of that e-mail."""
    if not proconnect.configured():
        return redirect(url_for("auth.login"))
    try:
        result = proconnect.complete_login()
    except proconnect.ProConnectError as exc:
        return _proconnect_refused(exc.reason, exc.message, exc.status)
    try:
        user = accounts.user_for_proconnect(result.claims)
    except accounts.SignInRefused as exc:
        return _proconnect_refused(exc.reason, exc.message, 403)
    if current_user.is_authenticated:
        security.sign_out()
    security.sign_in(user, method="proconnect")
    proconnect.remember_id_token(result.id_token)
    return redirect(url_for("members.index"))


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
    """Sign out (POST with CSRF token): the session ends on the server, sockets included.

    A ProConnect session ends at ProConnect too: the browser goes on to its end-session
    endpoint (``id_token_hint``), which sends it back to the login page.
    """
    form = ConfirmForm()
    if form.validate_on_submit():
        id_token = proconnect.take_id_token()
        security.sign_out()
        flash(_("Vous êtes déconnecté."), "info")
        if id_token and proconnect.configured():
            target = proconnect.logout_url(id_token, _proconnect_redirect_uri("auth.login"))
            if target:
                return redirect(target)
    return redirect(url_for("auth.login"))


@bp.route("/mot-de-passe/oubli", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(
    _reset_account_limit,
    methods=["POST"],
    key_func=_submitted_account,
    scope="reset-account",
    error_message=_too_many_resets,
)
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
