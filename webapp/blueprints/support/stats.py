"""Support response times: the staff's statistics and each member's (views on ``bp``).

``/support/statistiques`` (staff: every member, or one) and
``/membres/<slug>/support/statistiques`` (any user of the member, and staff). The
filters are a GET form (the address can be bookmarked): the period (3, 6 or 12 months)
and, for staff, a member; a wrong value is told in French with a 400. What the numbers
mean is :mod:`webapp.services.support_stats`'s docstring; this module writes them the
French way (« 1 h 20 min », « 87 % »).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template
from flask import request
from flask import url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_login import login_required
from wtforms import Form
from wtforms import SelectField
from wtforms.validators import ValidationError

from webapp import access
from webapp import scoping
from webapp.blueprints.support.routes import bp
from webapp.models import Member
from webapp.models.choices import SUPPORT_URGENCY_LABELS
from webapp.models.choices import SupportUrgency
from webapp.presenters import support as support_words
from webapp.services import members as member_service
from webapp.services import support_stats
from webapp.services.support_stats import Figures
from webapp.services.support_stats import Report

NBSP = "\u00a0"
HOUR = 3600


# -- filters --------------------------------------------------------------------------


class PeriodFilters(Form):
    """The period (GET: no CSRF token, nothing is changed)."""

    months = SelectField(
        _l("Période"), validate_choice=False, default=str(support_stats.DEFAULT_PERIOD)
    )

    def __init__(self, formdata) -> None:
        super().__init__(formdata)
        self.months.choices = [
            (str(n), _("%(num)d derniers mois", num=n)) for n in support_stats.PERIODS
        ]

    def validate_months(self, field) -> None:
        if field.data not in {str(n) for n in support_stats.PERIODS}:
            raise ValidationError(_("Choisissez une période de la liste."))

    def period(self) -> int:
        return int(self.months.data)

    def query_args(self) -> dict[str, str]:
        return {"months": self.months.data}


class StaffFilters(PeriodFilters):
    """The period and, optionally, one member."""

    member = SelectField(_l("Membre"), validate_choice=False)

    def __init__(self, formdata, members: list[Member]) -> None:
        super().__init__(formdata)
        self.members = {m.slug: m for m in members}
        self.member.choices = [("", _("Tous les membres"))] + [(m.slug, m.name) for m in members]

    def validate_member(self, field) -> None:
        if field.data and field.data not in self.members:
            raise ValidationError(_("Choisissez un membre de la liste."))

    def chosen_member(self) -> Member | None:
        return self.members.get(self.member.data or "")


# -- the French way -------------------------------------------------------------------


def duration(seconds: float | None) -> str | None:
    """« 45 min », « 1 h 20 min », « 2 j 3 h » (no-break spaces); ``None`` without a time."""
    return support_words.duration(seconds, unknown=None)


def target_duration(seconds: int) -> str:
    """A target: « 30 min », « 24 h » (whole hours under two days), else as :func:`duration`."""
    if HOUR <= seconds < 48 * HOUR and seconds % HOUR == 0:
        return _("%(h)d h", h=seconds // HOUR).replace(" ", NBSP)
    return duration(seconds) or ""


def percent(part: int, whole: int) -> str | None:
    """« 87 % »; never « 100 % » with a miss, nor « 0 % » with a success."""
    if not whole:
        return None
    value = round(part * 100 / whole)
    if part < whole:
        value = min(value, 99)
    if part > 0:
        value = max(value, 1)
    return f"{value}{NBSP}%"


@dataclass(frozen=True)
class Share:
    text: str | None  # « 87 % »
    detail: str | None  # « 13 sur 15 »


def share(part: int, whole: int) -> Share:
    return Share(
        percent(part, whole), _("%(part)d sur %(whole)d", part=part, whole=whole) if whole else None
    )


@dataclass(frozen=True)
class FiguresView:
    """One line of a table: texts, ``None`` where there is nothing to show."""

    label: str
    opened: int
    resolved: int
    response_median: str | None
    response_p90: str | None
    response_share: Share
    resolution_median: str | None
    resolution_p90: str | None
    resolution_share: Share
    satisfaction: Share
    url: str | None = None
    note: str | None = None


def figures_view(
    label: str, f: Figures, *, url: str | None = None, note: str | None = None
) -> FiguresView:
    return FiguresView(
        label=label,
        opened=f.opened,
        resolved=f.resolved,
        response_median=duration(f.response_median),
        response_p90=duration(f.response_p90),
        response_share=share(f.response_within, f.response_judged),
        resolution_median=duration(f.resolution_median),
        resolution_p90=duration(f.resolution_p90),
        resolution_share=share(f.resolution_within, f.resolution_judged),
        satisfaction=share(f.satisfied, f.rated),
        url=url,
        note=note,
    )


def targets_view(targets: dict[str, tuple[int, int]]) -> list[tuple[str, str]]:
    """[(« Critique », « réponse sous 30 min, résolution sous 4 h »), …], most urgent first."""
    return [
        (
            str(SUPPORT_URGENCY_LABELS[urgency]),
            _(
                "réponse sous %(response)s, résolution sous %(resolution)s",
                response=target_duration(targets[urgency][0]),
                resolution=target_duration(targets[urgency][1]),
            ),
        )
        for urgency in reversed(SupportUrgency)
        if urgency in targets
    ]


def period_text(report: Report) -> str:
    first = report.months[-1].month
    return _(
        "%(num)d derniers mois, depuis le 1er %(month)s",
        num=report.period,
        month=format_date(first, "MMMM y"),
    )


def report_view(report: Report, member_url=None) -> dict:
    """What the statistics templates show, from a service report."""
    months = [
        figures_view(
            format_date(m.month, "MMMM y").capitalize(),
            m.figures,
            note=_("en cours") if m.current else None,
        )
        for m in report.months
    ]
    members = [
        figures_view(m.name, m.figures, url=member_url(m.slug) if member_url else None)
        for m in report.members
    ]
    return {
        "report": report,
        "total": figures_view(_("Sur la période"), report.total),
        "months": months,
        "members": members,
        "targets": targets_view(report.targets),
        "period_text": period_text(report),
    }


# -- pages ----------------------------------------------------------------------------


@bp.route("/support/statistiques")
@login_required
def stats():
    """Response times of the syndicate's support, by month and by member (staff)."""
    access.require_staff()
    form = StaffFilters(request.args, member_service.all_members())
    if not form.validate():
        return render_template("support/stats.html", form=form, view=None), 400
    report = support_stats.staff_report(current_user, form.period(), form.chosen_member())

    def member_url(slug: str) -> str:
        return url_for("support.member_stats", slug=slug, **form.query_args())

    return render_template("support/stats.html", form=form, view=report_view(report, member_url))


@bp.route("/membres/<slug>/support/statistiques")
@login_required
def member_stats(slug: str):
    """A member's support response times, month by month (any user of the member)."""
    member = scoping.get_member(current_user, slug)
    form = PeriodFilters(request.args)
    if not form.validate():
        return render_template(
            "support/member_stats.html", member=member, form=form, view=None
        ), 400
    report = support_stats.member_report(member, form.period())
    return render_template(
        "support/member_stats.html", member=member, form=form, view=report_view(report)
    )
