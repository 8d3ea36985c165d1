"""Syndicate administration: every member with its state and probe usage; demo controls."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp import access
from webapp.access import staff_required
from webapp.forms import DemoActionForm
from webapp.forms import MemberForm
from webapp.forms import apply_errors
from webapp.presenters import alerts as alerts_view
from webapp.presenters import overview as overview_view
from webapp.services import deliveries
from webapp.services import demo
from webapp.services import invitations
from webapp.services import members as member_service
from webapp.services import orders
from webapp.services import overview
from webapp.services.errors import ValidationError
from webapp.sources.base import UnknownHost

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@staff_required()
def index():
    """All members with state and probes used / subscribed."""
    rows = overview_view.member_rows(member_service.all_members())
    return render_template(
        "admin/index.html",
        rows=rows,
        freshness=overview.freshness(),
        demo_form=DemoActionForm() if demo.enabled() else None,
        faults=demo.faults() if demo.enabled() else {},
        # Delivery health (alerts): syndicate administrators only.
        delivery_health=alerts_view.health_view(deliveries.health()) if access.is_admin() else None,
        orders_waiting=orders.waiting_count(),
        access_waiting=invitations.pending_count(),
        current_year=orders.today_local().year,
    )


@bp.route("/membres/nouveau", methods=["GET", "POST"])
@staff_required(admin_only=True)
def new_member():
    """Create a member with its Zabbix host group."""
    form = MemberForm()
    if form.validate_on_submit():
        try:
            member = member_service.create_member(
                name=form.name.data,
                slug=form.slug.data,
                kind=form.kind.data,
                siren=form.siren.data,
                host_groups=[form.host_group.data],
                contact_name=form.contact_name.data,
                contact_email=form.contact_email.data,
                contact_phone=form.contact_phone.data,
                actor=current_user,
            )
        except ValidationError as exc:
            apply_errors(form, exc, "name", aliases={"host_groups": "host_group"})
        else:
            flash(_("Le membre « %(name)s » est créé.", name=member.name), "success")
            return redirect(url_for("members.users", slug=member.slug))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/member_form.html", form=form), status


@bp.route("/demo", methods=["POST"])
@staff_required()
def demo_action():
    """Simulate a failure or a repair on the demo source (shown to members)."""
    if not demo.enabled():
        abort(404)
    form = DemoActionForm()
    if form.validate_on_submit():
        try:
            if form.action.data == "fail":
                demo.fail(form.host.data)
                flash(_("Panne simulée sur %(host)s.", host=form.host.data), "success")
            else:
                demo.repair(form.host.data)
                flash(_("%(host)s est réparé.", host=form.host.data), "success")
        except UnknownHost:
            flash(_("Équipement inconnu : %(host)s.", host=form.host.data), "error")
            return redirect(url_for("admin.index")), 303
        current_app.logger.info(
            "Demo %s on %s by %s", form.action.data, form.host.data, current_user.email
        )
        return redirect(url_for("admin.index")), 303
    for errors in form.errors.values():
        for message in errors:
            flash(message, "error")
    return redirect(url_for("admin.index")), 303


@bp.route("/zabbix")
@staff_required(admin_only=True)
def zabbix():
    """The same checks as ``flask vigie zabbix-check``."""
    from webapp.services.zabbix_check import run_checks

    return render_template("admin/zabbix.html", findings=run_checks())
