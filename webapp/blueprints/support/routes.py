"""Support requests: a member's list and form; the syndicate's queue."""

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
from webapp.forms import ConfirmForm
from webapp.forms import SupportForm
from webapp.services import support

bp = Blueprint("support", __name__)


@bp.route("/membres/<slug>/support")
@login_required
def member_requests(slug: str):
    """The member's support requests."""
    member = scoping.get_member(current_user, slug)
    return render_template(
        "support/member.html", member=member, requests=support.for_member(member)
    )


@bp.route("/membres/<slug>/support/nouvelle", methods=["GET", "POST"])
@login_required
def new(slug: str):
    """Ask the syndicate's support for help, optionally about one piece of equipment."""
    member = scoping.get_member(current_user, slug)
    form = SupportForm()
    if request.method == "GET":
        form.hostid.data = request.args.get("equipement", "")[:32]
    label = support.host_label(member, form.hostid.data)
    if request.method == "GET" and label:
        form.subject.data = _("À propos de %(label)s", label=label)
    if form.validate_on_submit():
        support.create_request(
            member,
            current_user,
            subject=form.subject.data,
            message=form.message.data,
            hostid=form.hostid.data or None,
        )
        flash(_("Votre demande est envoyée au support du syndicat."), "success")
        return redirect(url_for("support.member_requests", slug=slug))
    status = 400 if request.method == "POST" else 200
    return render_template("support/new.html", member=member, form=form, host_label=label), status


@bp.route("/support")
@login_required
def queue():
    """The syndicate's queue of open support requests (staff)."""
    access.require_staff()
    return render_template("support/queue.html", requests=support.queue(), close_form=ConfirmForm())


@bp.route("/support/<int:request_id>/cloturer", methods=["POST"])
@login_required
def close(request_id: int):
    """Close a request (staff)."""
    access.require_staff()
    if ConfirmForm().validate_on_submit():
        support.close(request_id, current_user)
        flash(_("Demande clôturée."), "success")
    return redirect(url_for("support.queue"))
