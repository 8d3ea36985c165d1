"""Probe pools, member side: the contribution statement, as a page and as a PDF."""

from __future__ import annotations

import logging
import time

from flask import abort
from flask import make_response
from flask import redirect
from flask import render_template
from flask import url_for
from flask_login import current_user
from flask_login import login_required

from webapp import scoping
from webapp.blueprints.probes.routes import bp
from webapp.models import Member
from webapp.models.choices import MemberRole
from webapp.presenters import contributions as view
from webapp.services import contributions
from webapp.services.errors import PermissionDenied

logger = logging.getLogger(__name__)


def load_member_for_statement(slug: str) -> Member:
    """The member, if the caller is one of its administrators or syndicate staff.

    Another member's user gets *not found* (the member is not even named); a viewer
    of the member gets 403: statements are for those who manage the subscription.
    """
    member = scoping.get_member(current_user, slug)
    if not (current_user.is_staff or current_user.role_in(member) == MemberRole.MEMBER_ADMIN):
        raise PermissionDenied(slug)
    return member


def _statement_context(slug: str, year: int) -> dict:
    member = load_member_for_statement(slug)
    if not contributions.valid_year(year):
        abort(404)
    day = contributions.today()
    return view.page_context(member, contributions.statement(member, year), day)


@bp.route("/membres/<slug>/contributions")
@login_required
def contributions_index(slug: str):
    """The current year's statement."""
    load_member_for_statement(slug)
    return redirect(url_for("probes.contribution", slug=slug, year=contributions.today().year))


@bp.route("/membres/<slug>/contributions/<int:year>")
@login_required
def contribution(slug: str, year: int):
    """A member's contribution statement for one year."""
    context = _statement_context(slug, year)
    return render_template("probes/contribution.html", **context)


@bp.route("/membres/<slug>/contributions/<int:year>.pdf")
@login_required
def contribution_pdf(slug: str, year: int):
    """The same statement as a PDF (WeasyPrint)."""
    context = _statement_context(slug, year)
    started = time.perf_counter()
    pdf = view.statement_pdf(context)
    logger.info(
        "Statement PDF %s %d: %d bytes in %.0f ms",
        slug,
        year,
        len(pdf),
        (time.perf_counter() - started) * 1000,
    )
    response = make_response(pdf)
    response.mimetype = "application/pdf"
    filename = f"contribution-{context['member'].slug}-{year}.pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
