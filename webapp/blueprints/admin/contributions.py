"""Syndicate administration: every member's contributions for a year, as CSV (views on ``bp``)."""

from __future__ import annotations

from flask import abort
from flask import make_response

from webapp.access import staff_required
from webapp.blueprints.admin.routes import bp
from webapp.presenters import contributions as view
from webapp.services import contributions


@bp.route("/contributions/<int:year>.csv")
@staff_required(admin_only=True)
def contributions_csv(year: int):
    """All members' statements of ``year`` for the finance team (UTF-8 with BOM, ``;``)."""
    if not contributions.valid_year(year):
        abort(404)
    response = make_response(view.csv_bytes(year, contributions.all_statements(year)))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="contributions-{year}.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
