"""Contribution statements as a page, a PDF, JSON and the finance team's CSV.

One computation (:mod:`webapp.services.contributions`) feeds the four: this module
only words and formats it. Amounts are shown through Babel in the reader's locale
(« 1 234,00 € » in French: a narrow no-break space between thousands, a no-break
space before the sign); the CSV is always French (« 41,67 », ``;`` between fields,
UTF-8 with a byte-order mark), which French spreadsheets open without a wizard.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from babel.numbers import format_decimal
from flask import current_app
from flask_babel import format_currency
from flask_babel import format_date
from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup

from webapp.models import Member
from webapp.models.choices import MEMBER_KIND_LABELS
from webapp.services.contributions import LineKind
from webapp.services.contributions import Statement
from webapp.services.contributions import available_years

__all__ = [
    "csv_bytes",
    "euros",
    "page_context",
    "statement_json",
]


def euros(cents: int) -> str:
    """« 1 234,00 € » in French (the reader's locale, through Babel)."""
    return format_currency(Decimal(cents) / 100, "EUR")


def french_decimal(cents: int) -> str:
    """« 1234,00 »: French decimal comma, no thousands separator (spreadsheet cells)."""
    return format_decimal(Decimal(cents) / 100, format="0.00", locale="fr_FR")


def _day(day: date) -> str:
    return format_date(day, "short")


def _month(day: date) -> str:
    return format_date(day, "MMMM")


@dataclass(frozen=True)
class LineView:
    label: str
    detail: str
    since: str
    since_iso: str
    probes: str
    price: str
    yearly: str
    period: str
    amount: str


@dataclass(frozen=True)
class ReductionView:
    text: str


@dataclass(frozen=True)
class YearLink:
    year: int
    label: str
    current: bool


def _line_label(line) -> tuple[str, str]:
    if line.kind == LineKind.PACKAGE:
        return _("Forfait minimum"), ngettext("%(num)d sonde", "%(num)d sondes", line.probes)
    pools = ngettext(
        "%(num)d pool de %(size)d sondes",
        "%(num)d pools de %(size)d sondes",
        line.pools,
        size=line.probes // line.pools if line.pools else 0,
    )
    if line.pools != line.pools_bought:
        pools = _(
            "%(pools)s (sur %(bought)d, après réduction)", pools=pools, bought=line.pools_bought
        )
    if line.kind == LineKind.BASE_POOLS:
        return _("Pools détenus à l’adhésion"), pools
    return _("Commande n°\u00a0%(id)d", id=line.order_id), pools


def _period(line, year: int) -> str:
    if not line.prorated:
        return _("Année complète")
    return ngettext(
        "%(num)d mois sur 12 (pro rata, à partir de %(month)s)",
        "%(num)d mois sur 12 (pro rata, à partir de %(month)s)",
        line.months,
        month=_month(line.start),
    )


def _reduction_text(reduction) -> str:
    when = _day(date(reduction.year, 1, 1))
    if reduction.upcoming:
        text = ngettext(
            "Réduction de %(num)d pool à partir du %(day)s (commande n° %(id)s) : "
            "elle s’appliquera au relevé de l’année prochaine.",
            "Réduction de %(num)d pools à partir du %(day)s (commande n° %(id)s) : "
            "elle s’appliquera au relevé de l’année prochaine.",
            reduction.pools,
            day=when,
            id=reduction.order_id,
        )
    else:
        text = ngettext(
            "Réduction de %(num)d pool depuis le %(day)s (commande n° %(id)s) : les pools les "
            "plus récents sont retirés en premier, jamais le forfait.",
            "Réduction de %(num)d pools depuis le %(day)s (commande n° %(id)s) : les pools les "
            "plus récents sont retirés en premier, jamais le forfait.",
            reduction.pools,
            day=when,
            id=reduction.order_id,
        )
    if reduction.applied < reduction.pools:
        text += " " + ngettext(
            "Seul %(num)d pool a pu être retiré : le forfait minimum reste dû.",
            "Seuls %(num)d pools ont pu être retirés : le forfait minimum reste dû.",
            reduction.applied,
        )
    return text


def _status(statement: Statement, today: date) -> tuple[str, str]:
    """``(code, sentence)``: closed year, year in progress, forecast or before the start."""
    if statement.before_start:
        return "before_start", _(
            "Aucune contribution pour %(year)d : l’abonnement a commencé le %(day)s.",
            year=statement.year,
            day=_day(statement.start),
        )
    if statement.start is None:
        return "no_subscription", _("Ce membre n’a pas d’abonnement aux sondes.")
    if statement.year < today.year:
        return "closed", _("Année close.")
    if statement.year == today.year:
        return "in_progress", _(
            "État au %(day)s : les pools mis en service d’ici la fin de l’année s’y ajouteront.",
            day=_day(today),
        )
    return "forecast", _(
        "Prévisionnel : ce que l’abonnement en vigueur au %(day)s donnerait sur l’année.",
        day=_day(today),
    )


def _rules() -> dict[str, str]:
    config = current_app.config
    return {"syndicate": config["SYNDICATE_NAME"], "decision": config["DECISION_REFERENCE"]}


def page_context(member: Member, statement: Statement, today: date) -> dict:
    """Everything the statement page and its PDF show, already worded and formatted."""
    lines = []
    for line in statement.lines:
        label, detail = _line_label(line)
        lines.append(
            LineView(
                label=label,
                detail=detail,
                since=_day(line.start),
                since_iso=line.start.isoformat(),
                probes=format_number(line.probes),
                price=euros(line.price_per_probe_cents),
                yearly=euros(line.yearly_cents),
                period=_period(line, statement.year),
                amount=euros(line.amount_cents),
            )
        )
    status, status_text = _status(statement, today)
    rules = _rules()
    years = [
        YearLink(
            year=year,
            label=str(year) if year <= today.year else _("%(year)d (prévisionnel)", year=year),
            current=year == statement.year,
        )
        for year in available_years(statement.start, today)
    ]
    return {
        "member": member,
        "statement": statement,
        "year": statement.year,
        "lines": lines,
        "reductions": [ReductionView(_reduction_text(r)) for r in statement.reductions],
        "total": euros(statement.total_cents),
        "probes_end": format_number(statement.probes),
        "status": status,
        "status_text": status_text,
        "years": years,
        "today": _day(today),
        **rules,
        # on the page, the reference is never cut at its hyphen
        "decision_html": Markup('<span class="nowrap">{}</span>').format(rules["decision"]),
    }


def statement_json(member: Member, statement: Statement, today: date) -> dict:
    """The JSON API's statement: amounts in integer cents, dates in ISO 8601."""
    status, _text = _status(statement, today)
    return {
        "member": {"slug": member.slug, "name": member.name},
        "year": statement.year,
        "status": status,
        "currency": "EUR",
        **_rules(),
        "subscription_start": statement.start.isoformat() if statement.start else None,
        "lines": [
            {
                "kind": str(line.kind),
                "order_id": line.order_id,
                "since": line.start.isoformat(),
                "pools": line.pools,
                "pools_bought": line.pools_bought,
                "probes": line.probes,
                "price_per_probe_cents": line.price_per_probe_cents,
                "months": line.months,
                "prorated": line.prorated,
                "yearly_cents": line.yearly_cents,
                "amount_cents": line.amount_cents,
            }
            for line in statement.lines
        ],
        "reductions": [
            {
                "order_id": r.order_id,
                "effective_on": date(r.year, 1, 1).isoformat(),
                "pools": r.pools,
                "applied_pools": r.applied,
                "upcoming": r.upcoming,
            }
            for r in statement.reductions
        ],
        "probes_end_of_year": statement.probes,
        "total_cents": statement.total_cents,
    }


# A cell a spreadsheet would run as a formula (CSV injection): prefixed with a quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_bytes(year: int, rows: list[tuple[Member, Statement]]) -> bytes:
    """The finance team's export of ``year``: one member a line, then the total."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            _("Membre"),
            _("Identifiant"),
            _("SIREN"),
            _("Type"),
            _("Début de l’abonnement"),
            _("Sondes au 31 décembre %(year)d", year=year),
            _("Pools au 31 décembre %(year)d", year=year),
            _("Forfait (€)"),
            _("Pools (€)"),
            _("Total %(year)d (€)", year=year),
        ]
    )
    total = 0
    for member, statement in rows:
        total += statement.total_cents
        writer.writerow(
            [
                _cell(member.name),
                _cell(member.slug),
                _cell(member.siren or ""),
                _cell(MEMBER_KIND_LABELS.get(member.kind, member.kind)),
                statement.start.strftime("%d/%m/%Y") if statement.start else "",
                statement.probes,
                statement.pools,
                french_decimal(statement.cents_of(LineKind.PACKAGE)),
                french_decimal(statement.cents_of(LineKind.BASE_POOLS, LineKind.POOLS)),
                french_decimal(statement.total_cents),
            ]
        )
    writer.writerow([_("Total"), "", "", "", "", "", "", "", "", french_decimal(total)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def statement_pdf(context: dict) -> bytes:
    """The statement as an A4 PDF (WeasyPrint, tagged for screen readers)."""
    from flask import render_template
    from weasyprint import CSS
    from weasyprint import HTML

    html = render_template("pdf/contribution.html", **context)
    css = CSS(string=render_template("pdf/contribution.css"))
    return HTML(string=html, base_url=current_app.root_path).write_pdf(
        stylesheets=[css], pdf_tags=True
    )
