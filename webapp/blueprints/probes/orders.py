"""Probe pools, member side: orders of additional pools and reductions (views on ``bp``).

Ordering is two steps without JavaScript: the form, then a confirmation that shows
what the order adds and costs. The idempotency key is made when the form is first
shown and travels with it, so a double click, a refresh or a second confirmation of
the same form returns the order already made.
"""

from __future__ import annotations

import secrets

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_required

from webapp.blueprints.probes.contributions import load_member_for_statement
from webapp.blueprints.probes.routes import bp
from webapp.forms import ConfirmForm
from webapp.forms import PoolOrderForm
from webapp.forms import apply_errors
from webapp.models import PoolOrder
from webapp.models.choices import OrderKind
from webapp.presenters import orders as view
from webapp.services import orders
from webapp.services.errors import Conflict
from webapp.services.errors import NotFound
from webapp.services.errors import ValidationError

FORM_ALIASES = {"idempotency_key": "pools"}


def load_order(slug: str, order_id: int) -> PoolOrder:
    """The order ``order_id`` of the member ``slug``, for its administrators and the syndicate."""
    member = load_member_for_statement(slug)
    order = orders.get(order_id, current_user)
    if order.member_id != member.id:
        raise NotFound(order_id)
    return order


@bp.route("/membres/<slug>/commandes")
@login_required
def orders_list(slug: str):
    """The member's orders and what it may order."""
    member = load_member_for_statement(slug)
    return render_template(
        "probes/orders.html",
        member=member,
        cancel_form=ConfirmForm(),
        **view.member_orders_page(member, current_user),
    )


@bp.route("/membres/<slug>/commandes/nouvelle", methods=["GET", "POST"])
@login_required
def order_new(slug: str):
    """Order additional pools: the form, its confirmation, the order."""
    return _order_form(slug, OrderKind.ADD)


@bp.route("/membres/<slug>/commandes/reduction", methods=["GET", "POST"])
@login_required
def order_reduce(slug: str):
    """Ask for fewer pools from the next 1 January (never below the minimum package)."""
    return _order_form(slug, OrderKind.REDUCE)


def _order_form(slug: str, kind: OrderKind):
    member = load_member_for_statement(slug)
    form = PoolOrderForm()
    context = {"member": member, "form": form, "kind": kind, "preview": None, "conflict": None}
    if request.method == "GET":
        form.key.data = secrets.token_urlsafe(24)
        form.pools.data = request.args.get("pools", "1")[:6]
        context["conflict"] = orders.blocker(member, current_user, kind)
        return _render_form(context, 200)
    if not form.validate_on_submit():
        return _render_form(context, 400)
    values = {"pools": form.pools.data, "kind": kind, "note": form.note.data}
    try:
        if form.step.data == "confirm":
            order, created = orders.place(member, current_user, key=form.key.data, **values)
            flash(
                _("Commande n° %(id)d envoyée au syndicat.", id=order.id)
                if created
                else _("Cette commande était déjà enregistrée (n° %(id)d).", id=order.id),
                "success" if created else "info",
            )
            return redirect(url_for("probes.order", slug=slug, order_id=order.id), code=303)
        if form.step.data != "edit":
            context["preview"] = view.preview_view(orders.preview(member, current_user, **values))
    except ValidationError as exc:
        apply_errors(form, exc, "pools", FORM_ALIASES)
        return _render_form(context, 400)
    except Conflict as exc:
        if exc.code == "idempotency_key_reused":  # the same form confirmed again, changed
            form.key.data = secrets.token_urlsafe(24)
        context["conflict"] = exc
        return _render_form(context, 409)
    return _render_form(context, 200)


def _render_form(context: dict, status: int):
    member, kind = context["member"], context["kind"]
    context["limit"] = orders.limit(member, current_user, kind)
    context["subscription"] = member.subscription
    return render_template("probes/order_form.html", **context), status


@bp.route("/membres/<slug>/commandes/<int:order_id>")
@login_required
def order(slug: str, order_id: int):
    """One order: its amounts, its steps, and cancelling it while it waits."""
    row = load_order(slug, order_id)
    return render_template(
        "probes/order.html",
        member=row.member,
        order=view.order_view(row, orders.can_manage(row, current_user)),
        lines=view.order_lines(row),
        steps=view.timeline(row),
        cancel_form=ConfirmForm(),
    )


@bp.route("/membres/<slug>/commandes/<int:order_id>/annuler", methods=["POST"])
@login_required
def order_cancel(slug: str, order_id: int):
    """Withdraw an order the syndicate has not decided yet."""
    row = load_order(slug, order_id)
    if ConfirmForm().validate_on_submit():
        try:
            orders.cancel(row.id, current_user)
            flash(_("Commande n° %(id)d annulée.", id=row.id), "success")
        except Conflict as exc:
            flash(exc.message, "error")
    else:
        flash(_("Le jeton de sécurité du formulaire est invalide. Rechargez la page."), "error")
    return redirect(url_for("probes.order", slug=slug, order_id=row.id), code=303)
