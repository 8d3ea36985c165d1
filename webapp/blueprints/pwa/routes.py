"""The installable web app: service worker at the root scope and the offline page."""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path

from flask import Blueprint
from flask import current_app
from flask import render_template
from flask import url_for
from flask_babel import gettext as _

from webapp.models.choices import STATE_DISPLAY
from webapp.presenters import clock

bp = Blueprint("pwa", __name__)

# Python's table does not know the manifest's type; the static route reads it.
mimetypes.add_type("application/manifest+json", ".webmanifest")

SHELL_FILES = ("css/vigie.css", "js/clock.js", "js/offline.js", "img/vigie.svg", "img/icon-192.png")


def _shell() -> list[str]:
    return [url_for("pwa.offline")] + [url_for("static", filename=f) for f in SHELL_FILES]


def _version() -> str:
    """Changes when the offline page's files change, so the worker caches them again."""
    digest = hashlib.sha256()
    static = Path(current_app.static_folder)
    templates = Path(current_app.template_folder) / "pwa"
    for path in [static / f for f in SHELL_FILES] + sorted(templates.iterdir()):
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@bp.route("/sw.js")
def service_worker():
    """The service worker, served from the root so that its scope is the whole portal."""
    body = render_template(
        "pwa/sw.js",
        version=_version(),
        offline_url=url_for("pwa.offline"),
        summary_url=url_for("api.members"),
        logout_url=url_for("auth.logout"),
        shell=_shell(),
        icon_url=url_for("static", filename="img/icon-192.png"),
        badge_url=url_for("static", filename="img/badge-96.png"),
        fallback={
            "title": "Vigie",
            "body": _("Nouvelle alerte : ouvrez Vigie pour la voir."),
            "offline": _("Vigie est injoignable. Réessayez quand le réseau sera revenu."),
        },
    )
    response = current_app.response_class(body, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/hors-ligne")
def offline():
    """The page the service worker shows when the portal cannot be reached."""
    states = {
        str(state): {"label": str(label), "modifier": modifier, "glyph": glyph}
        for state, (label, modifier, glyph) in STATE_DISPLAY.items()
    }
    response = current_app.make_response(
        render_template(
            "pwa/offline.html",
            clock_rules=clock.client_rules(),
            states=states,
            summary_url=url_for("api.members"),
        )
    )
    response.headers["Cache-Control"] = "no-cache"
    return response
