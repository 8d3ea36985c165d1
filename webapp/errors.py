"""Error pages in French, JSON errors for the API, fragments for htmx."""

from __future__ import annotations

import logging

from flask import Flask
from flask import g
from flask import jsonify
from flask import make_response
from flask import render_template
from flask import request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from webapp.extensions import db
from webapp.extensions import login_manager
from webapp.hardening import redact
from webapp.htmx import is_htmx_fragment_request
from webapp.services.errors import Conflict
from webapp.services.errors import NotFound
from webapp.services.errors import PermissionDenied
from webapp.sources.base import SourceError

logger = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "authentication_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "too_many_requests",
    500: "internal_error",
    503: "source_unavailable",
}


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Requête incorrecte"), _("La demande envoyée n'est pas valide.")),
        401: (_("Connexion requise"), _("Connectez-vous pour accéder à cette page.")),
        403: (_("Accès refusé"), _("Vous n'avez pas les droits nécessaires pour cette action.")),
        404: (_("Page introuvable"), _("Cette page n'existe pas ou vous n'y avez pas accès.")),
        405: (_("Méthode non autorisée"), _("Cette action n'est pas possible ici.")),
        413: (_("Envoi trop volumineux"), _("Les données envoyées dépassent la taille permise.")),
        429: (
            _("Trop de tentatives"),
            _("Trop de demandes en peu de temps. Patientez une minute puis réessayez."),
        ),
        500: (
            _("Erreur interne"),
            _("Une erreur inattendue s'est produite. L'équipe du syndicat a été prévenue."),
        ),
        503: (
            _("Supervision indisponible"),
            _("La source de supervision ne répond pas pour le moment."),
        ),
    }


def wants_json() -> bool:
    if request.path.startswith("/api/") or request.path == "/healthz":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > (request.accept_mimetypes["text/html"])
    )


def json_error(status: int, code: str, message: str, **extra):
    response = jsonify({"error": {"status": status, "code": code, "message": message, **extra}})
    response.status_code = status
    return response


def render_error(status: int, detail: str | None = None):
    title, message = _messages().get(status, (_("Erreur"), _("Une erreur s'est produite.")))
    if detail:
        message = detail
    if wants_json():
        return json_error(status, CODES.get(status, "error"), message)
    if is_htmx_fragment_request():
        response = render_template("errors/_fragment.html", title=title, message=message)
        return response, status, {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}
    return render_template("errors/error.html", status=status, title=title, message=message), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(
            400,
            _(
                "Le formulaire a expiré ou n'est pas valide (jeton de sécurité). "
                "Rechargez la page puis réessayez."
            ),
        )

    @app.errorhandler(NotFound)
    def not_found(error: NotFound):
        return render_error(404)

    @app.errorhandler(PermissionDenied)
    def forbidden(error: PermissionDenied):
        return render_error(403)

    @app.errorhandler(Conflict)
    def conflict(error: Conflict):
        if wants_json():
            return json_error(409, error.code, error.message, **error.extra)
        return render_error(409, error.message)

    @app.errorhandler(SourceError)
    def source_error(error: SourceError):
        return render_error(503)

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError):
        logger.error(
            "Database unavailable on %s %s: %s",
            request.method,
            redact(request.path),
            str(error.orig).strip().splitlines()[0] if error.orig else error,
        )
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone too
            db.session.remove()
        # The error page must not need the database: show it as to an anonymous visitor.
        g._login_user = login_manager.anonymous_user()
        return render_error(
            503,
            _(
                "Le service est momentanément indisponible "
                "(base de données). Réessayez dans quelques secondes."
            ),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        # A rate limit with its own words (the per-account ones of the login) says them.
        limit = getattr(error, "limit", None)
        detail = error.description if getattr(limit, "error_message", None) else None
        response = make_response(render_error(error.code or 500, detail))
        # The exception's own headers: Allow on a 405 (RFC 9110), Retry-After, WWW-Authenticate.
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        logger.exception("Unhandled error on %s %s", request.method, redact(request.path))
        db.session.rollback()
        return render_error(500)
