"""Syndicate administration: existing accounts invited to a member (views on ``bp``).

A member administrator who invites an address that already has a Vigie account is never
told so; the request waits here for the syndicate staff, who approve or refuse it.
"""

from __future__ import annotations

from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.access import staff_required
from webapp.blueprints.admin.routes import bp
from webapp.forms import ConfirmForm
from webapp.services import invitations
from webapp.services.errors import Conflict


def _back():
    return redirect(url_for("admin.access_requests"), code=303)


@bp.route("/acces", endpoint="access_requests")
@staff_required()
def access_requests():
    """The invitations of existing accounts waiting for a decision, oldest first."""
    return render_template(
        "admin/access_requests.html", waiting=invitations.pending(), form=ConfirmForm()
    )


def _decide(access_id: int, decide, done: str):
    if not ConfirmForm().validate_on_submit():
        flash(_("Le jeton de sécurité du formulaire est invalide. Rechargez la page."), "error")
        return _back()
    try:
        row = decide(access_id, current_user)
    except Conflict as exc:
        flash(exc.message, "error")
        return _back()
    flash(done % {"email": row.user.email, "member": row.member.name}, "success")
    return _back()


@bp.route("/acces/<int:access_id>/accepter", methods=["POST"])
@staff_required()
def access_approve(access_id: int):
    """Open the access; the account's owner is told by e-mail."""
    return _decide(
        access_id,
        invitations.approve,
        _("Accès ouvert : %(email)s suit maintenant %(member)s ; la personne est prévenue."),
    )


@bp.route("/acces/<int:access_id>/refuser", methods=["POST"])
@staff_required()
def access_refuse(access_id: int):
    """Refuse the access; nobody is told."""
    return _decide(
        access_id,
        invitations.refuse,
        _("Accès refusé : %(email)s n’a pas été ajouté à %(member)s."),
    )
