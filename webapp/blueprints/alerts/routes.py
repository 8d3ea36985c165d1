"""The notification centre (/notifications) and a member's alert defaults."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_login import login_required

from webapp import access
from webapp import scoping
from webapp.errors import render_error
from webapp.forms import AlertRuleForm
from webapp.forms import ConfirmForm
from webapp.forms import apply_errors
from webapp.presenters import alerts as alerts_view
from webapp.services import alert_rules
from webapp.services import deliveries
from webapp.services.errors import ValidationError

bp = Blueprint("alerts", __name__)

PER_PAGE = 20


def _page_number() -> int | None:
    """``?page=`` as a number of 1 or more (absent: 1); ``None`` when it is not one."""
    raw = request.args.get("page", "1").strip()
    if not raw.isdigit() or len(raw) > 6 or int(raw) < 1:
        return None
    return int(raw)


@bp.route("/notifications")
@login_required
def notifications():
    """The user's portal notifications, newest first."""
    number = _page_number()
    if number is None:
        return render_error(400, _("Numéro de page invalide : un nombre entier à partir de 1."))
    page = deliveries.notifications(current_user, number, PER_PAGE)
    return render_template(
        "alerts/notifications.html",
        page=page,
        items=[alerts_view.notification_view(row) for row in page.items],
        unread=deliveries.unread_count(current_user.id),
        form=ConfirmForm(),
    )


@bp.route("/notifications/tout-lu", methods=["POST"])
@login_required
def mark_all_read():
    """Mark every notification read."""
    if ConfirmForm().validate_on_submit():
        count = deliveries.mark_all_read(current_user)
        flash(
            ngettext(
                "%(num)d notification marquée comme lue.",
                "%(num)d notifications marquées comme lues.",
                count,
            )
            if count
            else _("Aucune notification non lue."),
            "success",
        )
    return redirect(url_for("alerts.notifications"), 303)


@bp.route("/notifications/<int:delivery_id>")
@login_required
def open_notification(delivery_id: int):
    """Mark one notification read and go where it leads (the map, a request…)."""
    row = deliveries.open_notification(current_user, delivery_id)
    return redirect(alerts_view.notification_target(row) or url_for("alerts.notifications"))


@bp.route("/membres/<slug>/alertes", methods=["GET", "POST"])
@login_required
def member_defaults(slug: str):
    """A member's alert defaults for its users (member admins and syndicate staff)."""
    member = scoping.get_member(current_user, slug)
    if not (access.is_staff() or access.can_administer(member)):
        abort(403)
    found = alert_rules.member_settings(member)
    form = AlertRuleForm()
    del form.members
    if request.method == "GET":
        form.load(found.applied.rule, {})
    elif form.validate_on_submit():
        try:
            alert_rules.save_member_defaults(member, form.payload())
        except ValidationError as exc:
            apply_errors(form, exc, "channels", aliases=AlertRuleForm.ALIASES)
        else:
            flash(
                _("Les réglages par défaut de %(name)s sont enregistrés.", name=member.name),
                "success",
            )
            return redirect(url_for("alerts.member_defaults", slug=member.slug), 303)
    return render_template(
        "alerts/member_defaults.html",
        member=member,
        form=form,
        settings=found,
        choices=alerts_view.rule_choices(found, with_members=False, for_member=True),
        followers=alert_rules.followers(member),
    ), 400 if request.method == "POST" else 200
