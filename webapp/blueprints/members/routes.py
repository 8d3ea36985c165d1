"""Member pages: home with plain-French summary and equipment list; member users."""

from __future__ import annotations

from flask import Blueprint
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
from webapp.forms import InviteForm
from webapp.forms import apply_errors
from webapp.presenters import live
from webapp.presenters import overview as overview_view
from webapp.services import accounts
from webapp.services import overview
from webapp.services.errors import ValidationError

bp = Blueprint("members", __name__)


@bp.route("/")
@login_required
def index():
    """Members the user may see; straight to the member when there is only one."""
    members = scoping.visible_members(current_user)
    if len(members) == 1 and not access.is_staff():
        return redirect(url_for("members.detail", slug=members[0].slug))
    rows = overview_view.member_rows(members)
    return render_template(
        "members/index.html",
        rows=rows,
        freshness=overview.freshness(),
        live_i18n=live.texts(),
        source_state=overview.source_state(),
    )


@bp.route("/membres/<slug>/")
@login_required
def detail(slug: str):
    """A member's home: summary sentence, incidents and equipment list."""
    member = scoping.get_member(current_user, slug)
    context = overview_view.member_page(member)
    return render_template(
        "members/detail.html", member=member, **live.page_context(context), **context
    )


@bp.route("/membres/<slug>/resume")
@login_required
def summary_fragment(slug: str):
    """Every sentence and count of the live pages (refetched after each live update)."""
    member = scoping.get_member(current_user, slug)
    context = overview_view.member_page(member)
    if context.get("status") is None:
        return "", 204
    response = render_template("members/_live_texts.html", member=member, **context)
    return response, 200, {"Vary": "HX-Request", "Cache-Control": "no-store"}


@bp.route("/membres/<slug>/vignette")
@login_required
def card_fragment(slug: str):
    """One member's card of the home page (refetched after each live update)."""
    member = scoping.get_member(current_user, slug)
    (row,) = overview_view.member_rows([member])
    response = render_template("members/_card.html", row=row)
    return response, 200, {"Vary": "HX-Request", "Cache-Control": "no-store"}


@bp.route("/membres/<slug>/utilisateurs", methods=["GET", "POST"])
@login_required
def users(slug: str):
    """Member users; member administrators (and syndicate admins) invite new ones.

    The answer to an invitation is the same whether the address has a Vigie account or not
    (see :func:`accounts.invite`); the one-time link goes by e-mail only.
    """
    member = scoping.get_member(current_user, slug)
    access.require_admin_of(member)
    form = InviteForm()
    if form.validate_on_submit():
        email = accounts.normalise_email(form.email.data)
        try:
            accounts.invite(
                member, email=email, name=form.name.data, role=form.role.data, actor=current_user
            )
        except ValidationError as exc:
            apply_errors(form, exc, "email")
        else:
            flash(_("Invitation envoyée à %(email)s.", email=email), "success")
            form = InviteForm(formdata=None)
    status = 400 if request.method == "POST" and form.errors else 200
    rows = accounts.user_rows(member)
    return render_template("members/users.html", member=member, rows=rows, form=form), status
