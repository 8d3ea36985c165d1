"""JSON API v1: a member's contribution statement (views on ``bp``)."""

from __future__ import annotations

from flask import jsonify
from flask_babel import gettext as _
from flask_login import login_required

from webapp.blueprints.api.routes import bp
from webapp.blueprints.probes.contributions import load_member_for_statement
from webapp.errors import json_error
from webapp.presenters import contributions as view
from webapp.services import contributions


@bp.route("/members/<slug>/contributions/<year>")
@login_required
def member_contribution(slug: str, year: str):
    """A member's statement for ``year``: lines and total in integer cents."""
    member = load_member_for_statement(slug)
    number = int(year) if year.isascii() and year.isdigit() else None
    if number is None or not contributions.valid_year(number):
        return json_error(
            400,
            "invalid_year",
            _(
                "Année invalide : une année entre %(first)d et %(last)d est attendue.",
                first=contributions.FIRST_YEAR,
                last=contributions.LAST_YEAR,
            ),
            field="year",
        )
    statement = contributions.statement(member, number)
    return jsonify(view.statement_json(member, statement, contributions.today()))
