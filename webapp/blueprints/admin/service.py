"""Syndicate administration: the service's own dashboard (views on ``bp``)."""

from __future__ import annotations

from flask import render_template

from webapp.access import staff_required
from webapp.blueprints.admin.routes import bp
from webapp.presenters import service_dashboard as view
from webapp.services import service_dashboard


@bp.route("/service")
@staff_required(admin_only=True)
def service():
    """Probes against the plan, contributions against the cost, break-even, members."""
    return render_template("admin/service.html", **view.page_context(service_dashboard.dashboard()))
