"""The live map of a member, node details and acknowledgements."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_required

from webapp import scoping
from webapp.forms import ConfirmForm
from webapp.htmx import render_page_or_fragment
from webapp.models.choices import ROLE_LABELS
from webapp.models.choices import SEVERITY_LABELS
from webapp.models.choices import STATE_DISPLAY
from webapp.services import acknowledgements
from webapp.services import live
from webapp.services import maps
from webapp.services.errors import NotFound
from webapp.sources.base import SourceError

bp = Blueprint("maps", __name__)


def _live_i18n() -> dict:
    """Texts the live script needs, in the reader's language (no strings in JS)."""
    return {
        "states": {state.value: {"label": str(label), "glyph": glyph, "modifier": modifier}
                   for state, (label, modifier, glyph) in STATE_DISPLAY.items()},
        "severities": {str(k): str(v) for k, v in SEVERITY_LABELS.items()},
        "roles": {k: str(v) for k, v in ROLE_LABELS.items()},
        "cause": _("cause probable : %(cause)s", cause="{cause}"),
        "changed": _("%(label)s : %(state)s", label="{label}", state="{state}"),
        "paused": _("Mises à jour suspendues"),
        "live": _("Mise à jour en direct"),
        "reconnecting": _("Connexion perdue, nouvelle tentative…"),
        "pause": _("Suspendre les mises à jour"),
        "resume": _("Reprendre les mises à jour"),
        "stale": _("Données non actualisées depuis %(time)s", time="{time}"),
        "stale_detail": _("La source de supervision ne répond pas ; l’affichage montre le "
                          "dernier état connu."),
        "fresh": _("Données actualisées à %(time)s", time="{time}"),
        "no_news": _("plus de nouvelles"),
    }


@bp.route("/membres/<slug>/carte")
@login_required
def map(slug: str):
    """The live topology map and its accessible list."""
    member = scoping.get_member(current_user, slug)
    context = maps.map_context(member)
    status = context.get("status")
    version = live.version_of(live.node_views(status)) if status else None
    return render_template("maps/map.html", member=member, live_i18n=_live_i18n(),
                           version=version, **context)


@bp.route("/membres/<slug>/equipements/<hostid>")
@login_required
def node(slug: str, hostid: str):
    """One node: problems, cause, last values, link to support."""
    member = scoping.get_member(current_user, slug)
    if len(hostid) > 32 or not hostid.isalnum():
        raise NotFound(hostid)
    context = maps.node_detail(member, hostid)
    return render_page_or_fragment("maps/node.html", "maps/_node.html", member=member,
                                   can_acknowledge=current_user.is_staff, **context)


@bp.route("/membres/<slug>/problemes/<eventid>/acquitter", methods=["POST"])
@login_required
def acknowledge(slug: str, eventid: str):
    """Acknowledge a problem (syndicate support only)."""
    member = scoping.get_member(current_user, slug)
    if not current_user.is_staff:
        abort(403)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        hostid = acknowledgements.acknowledge(member, eventid, current_user)
    except NotFound:
        raise
    except SourceError:
        flash(_("La source de supervision n’a pas accepté l’acquittement. Réessayez."), "error")
        return redirect(url_for("maps.map", slug=slug)), 303
    flash(_("Problème acquitté."), "success")
    return redirect(url_for("maps.node", slug=slug, hostid=hostid)), 303
