"""Syndicate administration: the queue of pool orders to approve or reject (views on ``bp``).

Support staff see the queue; syndicate administrators decide. Of two administrators
deciding the same order at once, one wins and the other is told who did, on the queue.
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
from webapp.forms import RejectOrderForm
from webapp.forms import apply_errors
from webapp.presenters import orders as view
from webapp.services import orders
from webapp.services.errors import Conflict
from webapp.services.errors import ValidationError


def _queue(status: int = 200, reject_forms: dict | None = None):
    return (
        render_template(
            "admin/orders.html",
            approve_form=ConfirmForm(),
            reject_forms=reject_forms or {},
            blank_reject=RejectOrderForm(formdata=None),
            **view.queue_page(),
        ),
        status,
    )


def _back(order_id: int):
    return redirect(url_for("admin.orders") + f"#commande-{order_id}", code=303)


@bp.route("/commandes", endpoint="orders")
@staff_required()
def orders_queue():
    """Orders waiting for a decision, oldest first, then the latest decisions."""
    return _queue()


@bp.route("/commandes/<int:order_id>/accepter", methods=["POST"])
@staff_required(admin_only=True)
def order_approve(order_id: int):
    """Accept an order: an addition is in force at once, a reduction on 1 January."""
    if not ConfirmForm().validate_on_submit():
        flash(_("Le jeton de sécurité du formulaire est invalide. Rechargez la page."), "error")
        return _back(order_id)
    try:
        order = orders.approve(order_id, current_user)
    except Conflict as exc:
        flash(_("Commande n° %(id)d : %(message)s", id=order_id, message=exc.message), "error")
        return _back(order_id)
    flash(
        _(
            "Commande n° %(id)d acceptée ; %(member)s est prévenu.",
            id=order.id,
            member=order.member.name,
        ),
        "success",
    )
    return _back(order_id)


@bp.route("/commandes/<int:order_id>/refuser", methods=["POST"])
@staff_required(admin_only=True)
def order_reject(order_id: int):
    """Refuse an order with a reason the member reads."""
    form = RejectOrderForm()
    if not form.validate_on_submit():
        return _queue(400, {order_id: form})
    try:
        order = orders.reject(order_id, current_user, form.reason.data)
    except ValidationError as exc:
        apply_errors(form, exc, "reason")
        return _queue(400, {order_id: form})
    except Conflict as exc:
        flash(_("Commande n° %(id)d : %(message)s", id=order_id, message=exc.message), "error")
        return _back(order_id)
    flash(
        _(
            "Commande n° %(id)d refusée ; %(member)s est prévenu.",
            id=order.id,
            member=order.member.name,
        ),
        "success",
    )
    return _back(order_id)
