"""Authentication loaders, security headers and rate limiting."""

from __future__ import annotations

import logging

from flask import Flask
from flask import Request

from webapp.errors import json_error
from webapp.errors import wants_json
from webapp.extensions import db
from webapp.extensions import login_manager
from webapp.extensions import talisman
from webapp.models import User
from webapp.services import audit
from webapp.services import tokens

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
    app.teardown_request(_forget_client_address)
    production = app.config["ENV"] == "production"
    talisman.init_app(
        app,
        force_https=production and not app.config.get("BEHIND_TLS_PROXY", False),
        strict_transport_security=production,
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        content_security_policy=CSP,
        referrer_policy="same-origin",
        frame_options="DENY",
        permissions_policy={"geolocation": "()", "camera": "()", "microphone": "()"},
    )


def _note_client_address() -> None:
    """The client's address, for the audit log (services never read the request)."""
    from flask import request

    audit.client_address.set(request.remote_addr)


def _forget_client_address(_exc=None) -> None:
    """After the request, work done in the same thread (CLI, tasks) has no client address."""
    audit.client_address.set(None)


def _load_user(user_id: str):
    try:
        return db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None


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
    from flask import redirect
    from flask import request
    from flask import url_for

    if wants_json():
        return json_error(401, "authentication_required", "Authentification requise.")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
