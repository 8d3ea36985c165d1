"""Probe pools, member side: the meter (views on ``bp``)."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user
from flask_login import login_required

from webapp import scoping
from webapp.blueprints.probes.routes import bp
from webapp.models import Member
from webapp.presenters import meter as meter_view
from webapp.services import billing


@bp.route("/membres/<slug>/sondes")
@login_required
def meter(slug: str):
    """Probes used against probes subscribed, their trend over 18 months and the forecast."""
    member = scoping.get_member(current_user, slug)
    return render_template("probes/meter.html", member=member, **meter_view.meter_page(member))


@bp.app_template_global("probe_usage_links")
def probe_usage_links(member: Member, usage: billing.Usage) -> dict:
    """The member home's links to the meter and (member administrators) the order page."""
    return meter_view.usage_links(member, usage)
