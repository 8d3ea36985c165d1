"""Syndicate administration: members using more probes than they subscribed (views on ``bp``)."""

from __future__ import annotations

from flask import render_template

from webapp.access import staff_required
from webapp.blueprints.admin.routes import bp
from webapp.presenters import meter as meter_view


@bp.route("/depassements")
@staff_required()
def over_quota():
    """Members over quota, largest excess first, with the pools that would cover it."""
    return render_template("probes/meter_over_quota.html", **meter_view.quota_page())
