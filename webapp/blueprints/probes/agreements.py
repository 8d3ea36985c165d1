"""Probe pools, member side: the supervision agreement in force and its signed PDF.

Shown to the member's administrators and to syndicate staff; a viewer of the member
gets 403, another member's user *not found* (the statements' loader).
"""

from __future__ import annotations

from flask import render_template
from flask_login import login_required

from webapp.blueprints.probes.contributions import load_member_for_statement
from webapp.blueprints.probes.routes import bp
from webapp.presenters import agreements as view
from webapp.services import agreements
from webapp.services import orders


@bp.route("/membres/<slug>/convention")
@login_required
def agreement(slug: str):
    """The agreement in force (or why there is none), then the older ones."""
    member = load_member_for_statement(slug)
    today = orders.today_local()
    status = view.agreement_status(member, today)
    rows = view.rows(member, today, status.agreement)
    current = next((r for r in rows if status.agreement and r.id == status.agreement.id), None)
    return render_template(
        "probes/agreement.html",
        member=member,
        status=status,
        current=current,
        others=[r for r in rows if r is not current],
    )


@bp.route("/membres/<slug>/convention/<int:agreement_id>.pdf")
@login_required
def agreement_document(slug: str, agreement_id: int):
    """The signed document of one of the member's agreements, to save."""
    name, content = agreements.document(load_member_for_statement(slug), agreement_id)
    return content, 200, view.download_headers(name)
