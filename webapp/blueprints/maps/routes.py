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

from webapp import access
from webapp import scoping
from webapp.forms import ConfirmForm
from webapp.htmx import render_page_or_fragment
from webapp.presenters import live
from webapp.presenters import maps
from webapp.services import acknowledgements
from webapp.services.errors import NotFound
from webapp.sources.base import SourceError

bp = Blueprint("maps", __name__)


@bp.route("/membres/<slug>/carte")
@login_required
def map(slug: str):
    """The live topology map and its accessible list."""
    member = scoping.get_member(current_user, slug)
    context = maps.map_context(member)
    return render_template("maps/map.html", member=member, **live.page_context(context), **context)


@bp.route("/membres/<slug>/equipements/<hostid>")
@login_required
def node(slug: str, hostid: str):
    """One node: problems, cause, last values, link to support."""
    member = scoping.get_member(current_user, slug)
    if len(hostid) > 32 or not hostid.isalnum():
        raise NotFound(hostid)
    context = maps.node_context(member, hostid)
    return render_page_or_fragment(
        "maps/node.html",
        "maps/_node.html",
        member=member,
        can_acknowledge=access.is_staff(),
        **context,
    )


@bp.route("/membres/<slug>/problemes/<eventid>/acquitter", methods=["POST"])
@login_required
def acknowledge(slug: str, eventid: str):
    """Acknowledge a problem (syndicate support only)."""
    member = scoping.get_member(current_user, slug)
    access.require_staff()
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
