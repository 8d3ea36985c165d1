"""The user's alert settings (/profil/alertes): channels, severity, members, sites, quiet
hours, mute, and the delivery log. Views of the profile blueprint."""

from __future__ import annotations

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_required

from webapp.blueprints.profile.routes import bp
from webapp.forms import AlertRuleForm
from webapp.forms import ConfirmForm
from webapp.forms import MuteForm
from webapp.forms import apply_errors
from webapp.presenters import alerts as alerts_view
from webapp.presenters import clock
from webapp.services import alert_rules
from webapp.services import deliveries
from webapp.services import phones
from webapp.services import push
from webapp.services.errors import ValidationError


def _with_members(found: alert_rules.Settings) -> bool:
    """Staff, and people of several members, choose members; others have only theirs."""
    return current_user.is_staff or len(found.members) > 1


def _render(form: AlertRuleForm, found: alert_rules.Settings, status: int = 200):
    return render_template(
        "profile/alerts.html",
        form=form,
        settings=found,
        rule=alerts_view.rule_view(found.applied, staff=current_user.is_staff),
        choices=alerts_view.rule_choices(found, _with_members(found)),
        mute_form=MuteForm(),
        confirm_form=ConfirmForm(),
        mute_hours=alert_rules.MUTE_HOURS,
        log=alerts_view.delivery_log(deliveries.recent_by_channel(current_user)),
        push_devices=push.devices(current_user),
        vapid_public_key=push.public_key(),
        phone_status=phones.status(current_user),
    ), status


@bp.route("/alertes", methods=["GET", "POST"])
@login_required
def alerts():
    """Choose how and when to be alerted; see what was sent."""
    found = alert_rules.settings(current_user)
    form = AlertRuleForm()
    if not _with_members(found):
        del form.members
    if request.method == "GET":
        form.load(found.applied.rule, {m.id: m.slug for m in found.members})
    elif form.validate_on_submit():
        try:
            alert_rules.save_user_rule(current_user, form.payload())
        except ValidationError as exc:
            apply_errors(form, exc, "channels", aliases=AlertRuleForm.ALIASES)
        else:
            flash(_("Vos réglages d’alerte sont enregistrés."), "success")
            return redirect(url_for("profile.alerts"), 303)
    return _render(form, found, 400 if request.method == "POST" else 200)


@bp.route("/alertes/couper", methods=["POST"])
@login_required
def mute_alerts():
    """Silence every alert for 1, 4 or 8 hours."""
    form = MuteForm()
    if form.validate_on_submit():
        raw = (form.hours.data or "").strip()
        try:
            until = alert_rules.mute(current_user, int(raw) if raw.isdigit() else raw)
        except ValidationError as exc:
            flash(next(iter(exc.errors.values())), "error")
        else:
            flash(_("Alertes coupées jusqu’à %(time)s.", time=clock.time_of_day(until)), "success")
    else:
        flash(_("Le formulaire a expiré. Rechargez la page puis réessayez."), "error")
    return redirect(url_for("profile.alerts") + "#mute", 303)


@bp.route("/alertes/reactiver", methods=["POST"])
@login_required
def unmute_alerts():
    """Alerts again, at once."""
    if ConfirmForm().validate_on_submit():
        alert_rules.unmute(current_user)
        flash(_("Les alertes sont réactivées."), "success")
    else:
        flash(_("Le formulaire a expiré. Rechargez la page puis réessayez."), "error")
    return redirect(url_for("profile.alerts") + "#mute", 303)


@bp.route("/alertes/par-defaut", methods=["POST"])
@login_required
def reset_alerts():
    """Forget my own settings: follow my member's defaults again."""
    if ConfirmForm().validate_on_submit():
        alert_rules.reset(current_user)
        flash(_("Vous suivez de nouveau les réglages par défaut."), "success")
    else:
        flash(_("Le formulaire a expiré. Rechargez la page puis réessayez."), "error")
    return redirect(url_for("profile.alerts"), 303)
