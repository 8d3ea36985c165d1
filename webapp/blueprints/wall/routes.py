"""The support wall (``/mur``): every member as a tile, worst first, live; kiosk links.

Staff see it after signing in; a TV sees it through a revocable kiosk link, which
puts ``kiosk_id`` in its session. That id is checked against the database on
every request, so revoking a link closes the wall at once. Anyone else gets 404.
"""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import StringField
from wtforms import SubmitField
from wtforms.validators import DataRequired
from wtforms.validators import Length

from webapp import access
from webapp.extensions import limiter
from webapp.forms import ConfirmForm
from webapp.forms import PlainText
from webapp.forms import VigieForm
from webapp.htmx import render_page_or_fragment
from webapp.presenters import live as live_texts
from webapp.presenters import overview as overview_page
from webapp.presenters import wall as wall_view
from webapp.presenters import wall_member
from webapp.services import kiosk
from webapp.services import overview
from webapp.services import wall
from webapp.services.errors import NotFound

bp = Blueprint("wall", __name__, url_prefix="/mur")

ROTATE_SECONDS = 15
CATCH_UP_SECONDS = 300  # a full refresh now and then: drift, revocation, session cookie


class KioskLinkForm(VigieForm):
    name = StringField(
        _l("Nom de l’écran"),
        validators=[
            DataRequired(message=_l("Ce champ est obligatoire.")),
            Length(max=80, message=_l("%(max)d caractères au plus.", max=80)),
            PlainText(),
        ],
        description=_l("Pour le reconnaître, par exemple : télévision du bureau du support"),
    )
    submit = SubmitField(_l("Créer un lien kiosque"))


def _kiosk_layout(viewer: str) -> bool:
    return viewer == access.KIOSK or request.args.get("kiosque") == "1"


# ---- the wall -------------------------------------------------------------------------


@bp.route("")
def index():
    """Every member as a tile, worst first; live; rotation and pinning of member maps."""
    viewer = access.require_wall_viewer()
    state = wall.current_state()
    return render_template(
        "wall/index.html",
        viewer=viewer,
        kiosk_layout=_kiosk_layout(viewer),
        tiles=wall_view.tiles(state.tiles, viewer),
        freshness=overview.freshness(),
        source_state=overview.source_state(),
        wall_i18n=wall_view.texts(),
        rotate_seconds=int(current_app.config.get("WALL_ROTATE_SECONDS", ROTATE_SECONDS)),
        catch_up_seconds=CATCH_UP_SECONDS,
    )


@bp.route("/tuiles")
def tiles():
    """The tiles alone, freshly sorted (htmx refresh, catch-up after a reconnection)."""
    viewer = access.require_wall_viewer()
    state = wall.current_state()
    response = render_template("wall/_tiles.html", tiles=wall_view.tiles(state.tiles, viewer))
    return response, 200, {"Vary": "HX-Request", "Cache-Control": "no-store"}


@bp.route("/membres/<slug>")
def member(slug: str):
    """One member, readable at 3 m: problem paths and affected sites (rotation, pinning, kiosk)."""
    viewer = access.require_wall_viewer()
    member = wall.member_by_slug(slug)
    context = overview_page.member_page(member)
    status = context.get("status")
    response = render_page_or_fragment(
        "wall/member.html",
        "wall/_member.html",
        member=member,
        viewer=viewer,
        kiosk_layout=_kiosk_layout(viewer),
        wall_i18n=wall_view.texts(),
        panel=wall_member.panel(status.member_map, status.summary) if status else None,
        **live_texts.page_context(context),
        **context,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# ---- kiosk links ----------------------------------------------------------------------


@bp.route("/kiosque/<token>")
@limiter.limit("30 per minute")
def kiosk_entry(token: str):
    """Open the wall on a TV: the link's token becomes a session, no password typed."""
    link = kiosk.authenticate(token)
    if link is None:
        raise NotFound("kiosk")
    session[access.KIOSK_SESSION_KEY] = link.id
    session.permanent = True
    return redirect(url_for("wall.index", kiosque=1))


def _render_links(form: KioskLinkForm | None = None, new_url: str | None = None, status: int = 200):
    return render_template(
        "wall/links.html",
        form=form or KioskLinkForm(),
        revoke_form=ConfirmForm(),
        links=kiosk.all_links(),
        new_url=new_url,
    ), status


@bp.route("/liens", methods=["GET", "POST"])
def links():
    """Kiosk links: list, create (the full address is shown once), revoke."""
    access.require_wall_staff()
    if request.method == "GET":
        return _render_links()
    form = KioskLinkForm()
    if not form.validate_on_submit():
        return _render_links(form=form, status=400)
    clear, link = kiosk.create(form.name.data, current_user)
    flash(
        _(
            "Lien kiosque « %(name)s » créé. Copiez l’adresse maintenant : elle ne sera plus "
            "jamais affichée.",
            name=link.name,
        ),
        "success",
    )
    return _render_links(new_url=kiosk.entry_url(clear), status=201)


@bp.route("/liens/<int:link_id>/revoquer", methods=["POST"])
def revoke_link(link_id: int):
    """Revoke a kiosk link: the screens using it lose the wall immediately."""
    access.require_wall_staff()
    form = ConfirmForm()
    if form.validate_on_submit():
        link = kiosk.revoke(link_id, current_user)
        flash(_("Le lien kiosque « %(name)s » est révoqué.", name=link.name), "success")
    return redirect(url_for("wall.links"))
