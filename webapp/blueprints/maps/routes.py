"""The live map of a member, node details and acknowledgements."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
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
    """The live network map: the path to Internet, one card per site, the drawing."""
    member = scoping.get_member(current_user, slug)
    context = maps.map_context(member)
    return render_template("maps/map.html", member=member, **live.page_context(context), **context)


def _drawing_args() -> tuple[str, tuple[str, ...], str | None]:
    """The drawing's view, open groups and site from the query string (bad values: 404)."""
    kind = request.args.get("vue", "wide")
    if kind not in ("wide", "narrow"):
        raise NotFound(kind)
    opened = tuple(request.args.get("ouvert", "").split())
    if len(opened) > 200 or any(len(g) > 100 or not g.startswith("group:") for g in opened):
        raise NotFound("ouvert")
    site = request.args.get("site")
    if site is not None and len(site) > 200:
        raise NotFound(site)
    return kind, opened, maps.site_from_key(site)


@bp.route("/membres/<slug>/carte/dessin")
@login_required
def drawing(slug: str):
    """One drawing of the map (whole or one site, groups open or folded), as an SVG fragment."""
    member = scoping.get_member(current_user, slug)
    kind, opened, site = _drawing_args()
    context = maps.drawing_context(member, kind, opened, site, whole=site is None)
    if context.get("drawing") is None:
        return "", 204
    body = render_template("maps/_drawing.html", member=member, **context)
    return body, 200, {"Cache-Control": "no-store"}


@bp.route("/membres/<slug>/carte/site/<site>")
@login_required
def site(slug: str, site: str):
    """One site's map, readable on a phone, with its equipment list."""
    member = scoping.get_member(current_user, slug)
    if len(site) > 200:
        raise NotFound(site)
    context = maps.drawing_context(member, "narrow", (), maps.site_from_key(site), whole=False)
    if context.get("drawing") is None:
        raise NotFound(site)
    return render_template("maps/site.html", member=member, **live.page_context(context), **context)


@bp.route("/membres/<slug>/carte/textes")
@login_required
def texts(slug: str):
    """Every live text of the map pages (refetched after each live update)."""
    member = scoping.get_member(current_user, slug)
    site = request.args.get("site")
    if site is not None:
        if len(site) > 200:
            raise NotFound(site)
        context = maps.drawing_context(member, "narrow", (), maps.site_from_key(site), whole=False)
    else:
        context = maps.map_context(member)
    if context.get("status") is None:
        return "", 204
    response = render_template("maps/_texts.html", member=member, **context)
    return response, 200, {"Vary": "HX-Request", "Cache-Control": "no-store"}


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
