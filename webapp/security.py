"""Authentication loaders, security headers and rate limiting."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask
from flask import Request
from flask import current_app
from flask import g
from flask import session
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user

from webapp import proconnect
from webapp.errors import json_error
from webapp.errors import wants_json
from webapp.extensions import db
from webapp.extensions import login_manager
from webapp.extensions import talisman
from webapp.models import User
from webapp.models import UserSession
from webapp.models.choices import SESSION_TIMEOUTS
from webapp.models.choices import SessionEnd
from webapp.models.choices import SignInMethod
from webapp.services import audit
from webapp.services import sessions
from webapp.services import tokens
from webapp.services import two_factor

logger = logging.getLogger(__name__)

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def init_app(app: Flask) -> None:
    """Bind Flask-Login and Talisman with Vigie's policy."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    login_manager.user_loader(_load_user)
    login_manager.request_loader(_load_user_from_request)
    login_manager.unauthorized_handler(_unauthorized)
    app.before_request(_note_client_address)
    app.before_request(_hold_to_enrolment)
    app.teardown_request(_forget_client_address)
    production = app.config["ENV"] == "production"
    talisman.init_app(
        app,
        force_https=production and not app.config.get("BEHIND_TLS_PROXY", False),
        strict_transport_security=production,
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        content_security_policy=_csp(app),
        referrer_policy="same-origin",
        frame_options="DENY",
        permissions_policy={"geolocation": "()", "camera": "()", "microphone": "()"},
    )


def _csp(app: Flask) -> dict[str, str]:
    """Vigie's policy; with ProConnect, its forms may also lead to the provider (the sign-in
    and the logout buttons answer with a redirect there, which ``form-action`` governs)."""
    policy = dict(CSP)
    if proconnect.configured(app):
        parts = urlsplit(app.config["OIDC_ISSUER"])
        policy["form-action"] = f"'self' {parts.scheme}://{parts.netloc}"
    return policy


def _note_client_address() -> None:
    """The client's address, for the audit log (services never read the request)."""
    from flask import request

    audit.client_address.set(request.remote_addr)


def _forget_client_address(_exc=None) -> None:
    """After the request, work done in the same thread (CLI, tasks) has no client address."""
    audit.client_address.set(None)


# Flask-Login keeps, under its ``_user_id`` key, our session id (never the user's id): the
# user is whoever that server-side session belongs to, while it lasts. A remember cookie
# (Vigie never sets one) would carry the same id, checked the same way.
FLASK_LOGIN_KEYS = ("_user_id", "_fresh")
ENDED_KEY = "vigie_session_ended"  # g: why this request's session was refused, if it was


# The second step of a password sign-in waits in the signed session cookie under this key:
# the user's id, when the password was right, where to go next, how many wrong codes, and
# the user's credential stamp then. It grants nothing: no ``_user_id`` until the code.
PENDING_KEY = "vigie_second_step"


class SecondStepRequired(Exception):
    """The password was right but the account uses two-factor sign-in: the pending step is
    noted in this browser's session; send the browser to ``auth.verify``."""


class SecondStepExpired(Exception):
    """No pending second step, or it is older than ``TWO_FACTOR_PENDING_SECONDS``, or its
    account changed since (password, roles, state), or it had too many wrong codes."""


def sign_in(
    user: User, *, method: str = SignInMethod.PASSWORD, next_url: str | None = None
) -> UserSession:
    """Start a server-side session for ``user`` (just authenticated) on this browser.

    ``method`` says how the user was identified: ``"password"`` (the login form),
    ``"proconnect"`` (the identity federation, strong: never a second step here), or
    what :func:`webapp.services.two_factor.verify` proved. After a password alone, a
    user with two-factor sign-in turned on is not signed in: the pending second step is
    kept (``next_url`` with it) and :class:`SecondStepRequired` raised.
    """
    from flask import request

    method = SignInMethod(method)
    if method == SignInMethod.PASSWORD and two_factor.is_enabled(user):
        session[PENDING_KEY] = {
            "user": user.id,
            "at": two_factor.now().timestamp(),
            "next": next_url,
            "stamp": sessions.credential_stamp(user),
            "failures": 0,
        }
        raise SecondStepRequired()
    session.pop(PENDING_KEY, None)
    clear, row = sessions.start(
        user, user_agent=request.user_agent.string, address=request.remote_addr, method=method
    )
    login_user(user)
    session["_user_id"] = clear
    session.permanent = row.persistent  # viewers: the cookie stays on the device
    g.vigie_session = row
    return row


def pending_second_step() -> tuple[User, str | None]:
    """The user waiting for their second step on this browser and where they go next;
    :class:`SecondStepExpired` (the pending state forgotten) if there is none any more."""
    pending = session.get(PENDING_KEY)
    user = None
    if isinstance(pending, dict) and isinstance(pending.get("user"), int):
        age = two_factor.now().timestamp() - float(pending.get("at") or 0)
        if 0 <= age <= float(current_app.config["TWO_FACTOR_PENDING_SECONDS"]):
            user = db.session.get(User, pending["user"])
    if (
        user is None
        or not user.active
        or pending.get("stamp") != sessions.credential_stamp(user)
        or int(pending.get("failures") or 0) >= int(current_app.config["TWO_FACTOR_MAX_ATTEMPTS"])
        or not two_factor.is_enabled(user)
    ):
        session.pop(PENDING_KEY, None)
        raise SecondStepExpired()
    return user, pending.get("next")


def note_second_step_failure() -> None:
    """Count a wrong code: after ``TWO_FACTOR_MAX_ATTEMPTS``, the password is asked again."""
    pending = session.get(PENDING_KEY)
    if isinstance(pending, dict):
        pending["failures"] = int(pending.get("failures") or 0) + 1
        session[PENDING_KEY] = pending


def pending_user_key() -> str:
    """The rate limit key of the second step: the pending user (whatever the address)."""
    pending = session.get(PENDING_KEY)
    user = pending.get("user") if isinstance(pending, dict) else None
    return f"second-step:{user}"


def must_enrol() -> bool:
    """This browser's signed-in user must turn two-factor on before anything else
    (production, staff or member admin, a password sign-in). Tokens are not concerned."""
    row = current_session()
    return row is not None and two_factor.must_enrol(current_user, row.method)


# Where a user held to enrolment may still go: enrolment, sign-out, language, legal
# pages, health and the PWA's files.
ENROLMENT_ENDPOINTS = frozenset(
    {
        "profile.two_factor",
        "profile.two_factor_start",
        "profile.two_factor_confirm",
        "auth.logout",
        "auth.language",
        "static",
    }
)
ENROLMENT_BLUEPRINTS = frozenset({"legal", "health", "pwa"})


def _hold_to_enrolment():
    """Before every request: a user who must enrol reaches only the enrolment page."""
    from flask import redirect
    from flask import request
    from flask import url_for

    endpoint = request.endpoint or ""
    if endpoint in ENROLMENT_ENDPOINTS or request.blueprint in ENROLMENT_BLUEPRINTS:
        return None
    if not current_user.is_authenticated or not must_enrol():
        return None
    if wants_json():
        return json_error(
            403,
            "two_factor_enrolment_required",
            "Activez la double authentification sur votre profil avant d’utiliser Vigie.",
        )
    target = url_for("profile.two_factor")
    response = redirect(target)
    if getattr(request, "htmx", None):
        response.headers["HX-Redirect"] = target
    return response


def current_session() -> UserSession | None:
    """The server-side session of this request's signed-in user (``None`` with a token)."""
    if not current_user.is_authenticated:
        return None
    return g.get("vigie_session")


def sign_out(reason: str = SessionEnd.LOGOUT) -> None:
    """End this browser's session on the server (its sockets too), then forget it here."""
    row = current_session()
    if row is not None:
        sessions.revoke_one(current_user, row.id, reason)
    logout_user()
    g.pop("vigie_session", None)


def _load_user(session_id: str):
    try:
        row = sessions.resolve(session_id)
    except sessions.SessionEnded as ended:
        for key in FLASK_LOGIN_KEYS:  # the cookie forgets the dead session
            session.pop(key, None)
        g.setdefault(ENDED_KEY, ended.reason or SessionEnd.EXPIRED)
        return None
    g.vigie_session = row
    return row.user


def _load_user_from_request(request: Request):
    """Authenticate ``Authorization: Bearer <token>`` on the JSON API (and only there)."""
    header = request.headers.get("Authorization", "")
    if not request.path.startswith("/api/") or not header.startswith("Bearer "):
        return None
    user = tokens.authenticate(header.removeprefix("Bearer ").strip())
    if user is not None:
        # A token request carries no cookie: the API blueprint skips CSRF for it.
        request.environ["vigie.token_auth"] = True
    return user


def _unauthorized():
    from flask import flash
    from flask import redirect
    from flask import request
    from flask import url_for

    if wants_json():
        return json_error(401, "authentication_required", "Authentification requise.")
    ended = g.get(ENDED_KEY)
    if ended == SessionEnd.DEMO_ACCOUNT:
        flash(_("Les comptes de démonstration sont refusés sur ce service en production."), "error")
    elif ended in SESSION_TIMEOUTS:
        flash(_("Votre session a expiré. Reconnectez-vous pour continuer."), "info")
    elif ended is not None:
        flash(
            _(
                "Votre session a été fermée (déconnexion, mot de passe ou droits modifiés). "
                "Reconnectez-vous pour continuer."
            ),
            "info",
        )
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
