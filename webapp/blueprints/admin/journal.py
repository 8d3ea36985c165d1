"""Syndicate administration: the audit journal and its CSV export (views on ``bp``).

The filters are a GET form (the address can be bookmarked and shared): member, part
of the actor's e-mail, kind, and days in the syndicate's time zone (« du » and « au »
included). A wrong value is told in French with a 400, never a 500.
"""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Response
from flask import current_app
from flask import render_template
from flask import request
from flask import stream_with_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import Form
from wtforms import SelectField
from wtforms import StringField
from wtforms.validators import Length
from wtforms.validators import Optional
from wtforms.validators import ValidationError

from webapp.access import staff_required
from webapp.blueprints.admin.routes import bp
from webapp.errors import render_error
from webapp.models import Member
from webapp.presenters import audit as audit_view
from webapp.presenters import clock
from webapp.services import audit
from webapp.services import members as member_service

PER_PAGE = 50
FILTER_KEYS = ("member", "actor", "kind", "start", "end")
_DAY_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def parse_day(raw: str | None) -> date | None:
    """``2026-11-30`` (a date field) or ``30/11/2026`` (typed); empty: ``None``.

    Raises :class:`ValueError` for anything else (years 1900 to 9998).
    """
    if not raw:
        return None
    if len(raw) > 10:
        raise ValueError(raw)
    for pattern in _DAY_FORMATS:
        try:
            day = datetime.strptime(raw, pattern).date()
        except ValueError:
            continue
        if 1900 <= day.year <= 9998:
            return day
    raise ValueError(raw)


class JournalFilters(Form):
    """The journal's filters (GET: no CSRF token, nothing is changed)."""

    member = SelectField(_l("Membre"), validate_choice=False)
    actor = StringField(
        _l("Acteur (l’adresse contient)"),
        filters=[_strip],
        validators=[Optional(), Length(max=254, message=_l("254 caractères au plus."))],
    )
    kind = SelectField(_l("Type d’événement"), validate_choice=False)
    start = StringField(_l("Du"), filters=[_strip], render_kw={"type": "date"})
    end = StringField(_l("Au"), filters=[_strip], render_kw={"type": "date"})

    def __init__(self, formdata, members: list[Member]) -> None:
        super().__init__(formdata)
        self.members = {m.slug: m for m in members}
        self.member.choices = [("", _("Tous les membres"))] + [(m.slug, m.name) for m in members]
        self.kind.choices = [("", _("Tous les types"))] + audit_view.kind_choices()
        self.days: dict[str, date | None] = {"start": None, "end": None}

    def validate_member(self, field) -> None:
        if field.data and field.data not in self.members:
            raise ValidationError(_("Membre inconnu : choisissez-le dans la liste."))

    def validate_kind(self, field) -> None:
        if field.data and field.data not in dict(audit_view.kind_choices()):
            raise ValidationError(_("Type inconnu : choisissez-le dans la liste."))

    def _day(self, field) -> None:
        try:
            self.days[field.name] = parse_day(field.data)
        except ValueError:
            raise ValidationError(
                _("Date invalide : une date au format JJ/MM/AAAA, par exemple 30/11/2026.")
            ) from None

    def validate_start(self, field) -> None:
        self._day(field)

    def validate_end(self, field) -> None:
        self._day(field)
        start, end = self.days["start"], self.days["end"]
        if start and end and end < start:
            raise ValidationError(_("La date de fin précède la date de début."))

    def filters(self) -> audit.Filters:
        """The service's filters: local days turned into UTC bounds (``au`` included)."""
        zone = ZoneInfo(clock.zone_name())

        def midnight(day: date | None) -> datetime | None:
            return datetime.combine(day, time(), zone).astimezone(UTC) if day else None

        end = self.days["end"]
        member = self.members.get(self.member.data or "")
        return audit.Filters(
            member_id=member.id if member else None,
            actor=self.actor.data or None,
            kind=self.kind.data or None,
            since=midnight(self.days["start"]),
            until=midnight(end + timedelta(days=1)) if end else None,
        )

    def query_args(self) -> dict[str, str]:
        """The filters in use, for the pages' and the export's links."""
        return {key: self[key].data for key in FILTER_KEYS if self[key].data}


def _read_filters() -> JournalFilters:
    form = JournalFilters(request.args, member_service.all_members())
    form.validate()
    return form


def _page_number() -> int | None:
    """``?page=`` as a number of 1 or more (absent: 1); ``None`` when it is not one."""
    raw = request.args.get("page", "1").strip()
    if not raw.isdigit() or len(raw) > 6 or int(raw) < 1:
        return None
    return int(raw)


@bp.route("/journal")
@staff_required(admin_only=True)
def journal():
    """The audit journal, newest first, filtered."""
    number = _page_number()
    if number is None:
        return render_error(400, _("Numéro de page invalide : un nombre entier à partir de 1."))
    form = _read_filters()
    context = {
        "form": form,
        "retention_days": int(current_app.config["AUDIT_RETENTION_DAYS"]),
        "zone": clock.zone_name(),
    }
    if form.errors:
        return render_template("admin/journal.html", page=None, lines=[], **context), 400
    page = audit.search(form.filters(), number, PER_PAGE)
    return render_template(
        "admin/journal.html",
        page=page,
        lines=[audit_view.line_view(event) for event in page.items],
        query=form.query_args(),
        **context,
    )


@bp.route("/journal.csv")
@staff_required(admin_only=True)
def journal_csv():
    """The filtered lines as CSV (UTF-8 with BOM, « ; »: a French spreadsheet opens it)."""
    form = _read_filters()
    if form.errors:
        message = " ".join(
            f"{form[name].label.text} : {' '.join(errors)}" for name, errors in form.errors.items()
        )
        return render_error(400, message)
    today = clock.local(datetime.now(UTC)).date().isoformat()
    chunks = audit_view.csv_chunks(audit.lines(form.filters()))
    return Response(
        stream_with_context(chunks),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="vigie-journal-{today}.csv"',
            "Cache-Control": "no-store",
        },
    )
