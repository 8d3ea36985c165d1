"""The audit journal in words: one line's date, kind, actor, target and detail, for the
page and for its CSV export (the same computation feeds both).

Times are the syndicate's (:mod:`webapp.presenters.clock`). Values come out as plain
text: templates escape them, and the CSV neutralises what a spreadsheet would run.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.models import AuditEvent
from webapp.models.choices import AUDIT_KIND_LABELS
from webapp.models.choices import MEMBER_KIND_LABELS
from webapp.models.choices import MEMBER_ROLE_LABELS
from webapp.models.choices import ORDER_KIND_LABELS
from webapp.models.choices import ORDER_STATE_DISPLAY
from webapp.models.choices import STAFF_ROLE_LABELS
from webapp.models.choices import SUPPORT_STATUS_LABELS
from webapp.models.choices import AuditKind
from webapp.presenters import clock

__all__ = [
    "CSV_BOM",
    "LineView",
    "csv_chunks",
    "detail_summary",
    "kind_choices",
    "kind_label",
    "line_view",
    "target_label",
]

CSV_BOM = "\ufeff"

# Kinds shown with a warning mark (text and glyph, never colour alone).
WARNING_KINDS = {AuditKind.LOGIN_FAILED}

# The first word of ``target`` ("order 12", "token 3", "user a@b.fr") -> its French name.
TARGET_LABELS = {
    "order": _l("Commande"),
    "pool-order": _l("Commande"),
    "agreement": _l("Convention"),
    "token": _l("Jeton"),
    "kiosk": _l("Lien d’affichage"),
    "member": _l("Membre"),
    "support": _l("Demande de support"),
    "user": _l("Compte"),
}

DETAIL_LABELS = {
    "role": _l("rôle"),
    "staff_role": _l("rôle au syndicat"),
    "reason": _l("motif"),
    "name": _l("nom"),
    "prefix": _l("début du jeton"),
    "slug": _l("identifiant"),
    "kind": _l("type"),
    "host_groups": _l("groupes d’hôtes"),
    "from": _l("avant"),
    "to": _l("après"),
    "via": _l("par"),
    "pools": _l("pools"),
    "state": _l("état"),
    "note": _l("note"),
    "existing_account": _l("compte existant"),
}

REASON_LABELS = {
    "credentials": _l("adresse ou mot de passe incorrect"),
    "inactive": _l("compte désactivé"),
    "demo_in_production": _l("compte de démonstration refusé en production"),
}
VIA_LABELS = {"cli": _l("ligne de commande")}
# Support request and order states, before and after a change.
STATE_LABELS = {
    **SUPPORT_STATUS_LABELS,
    **{state: display[0] for state, display in ORDER_STATE_DISPLAY.items()},
}

_TARGET_RE = re.compile(r"^([a-z][a-z_-]*) (.+)$")
_SPREADSHEET_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def kind_label(kind: str) -> str:
    """« Connexion refusée »; an unknown kind as stored."""
    try:
        return str(AUDIT_KIND_LABELS[AuditKind(kind)])
    except (ValueError, KeyError):
        return kind


def kind_choices() -> list[tuple[str, str]]:
    """Every kind, in the order of :class:`AuditKind`, as (value, label)."""
    return [(str(kind), str(label)) for kind, label in AUDIT_KIND_LABELS.items()]


def target_label(target: str | None) -> str:
    """« Jeton 3 » for ``token 3``; anything else as stored; « — » when there is none."""
    if not target:
        return "—"
    match = _TARGET_RE.match(target)
    if match and match.group(1) in TARGET_LABELS:
        return f"{TARGET_LABELS[match.group(1)]} {match.group(2)}"
    return target


def _value(key: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("oui") if value else _("non")
    labels = {
        "role": MEMBER_ROLE_LABELS,
        "staff_role": STAFF_ROLE_LABELS,
        "reason": REASON_LABELS,
        "via": VIA_LABELS,
        "kind": {**MEMBER_KIND_LABELS, **ORDER_KIND_LABELS},
        "from": STATE_LABELS,
        "to": STATE_LABELS,
        "state": STATE_LABELS,
    }.get(key, {})
    if isinstance(value, list | tuple):
        return ", ".join(_value(key, item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} : {_value(k, v)}" for k, v in value.items())
    label = labels.get(value) if isinstance(value, str) else None
    return str(label) if label is not None else str(value)


def detail_summary(detail: dict[str, Any] | None) -> str:
    """« rôle : Administrateur du membre ; par : ligne de commande » (plain text)."""
    parts = []
    for key, value in (detail or {}).items():
        name = DETAIL_LABELS.get(key, key)
        parts.append(_("%(name)s : %(value)s", name=name, value=_value(key, value)))
    return " ; ".join(parts) or "—"


def _actor(event: AuditEvent) -> str:
    if event.actor_label:
        return event.actor_label
    if (event.detail or {}).get("via") == "cli":
        return _("Ligne de commande")
    return _("Système")


@dataclass(frozen=True)
class LineView:
    """One audit line as the journal shows it."""

    id: int
    when: str  # « 30/11/2026 à 20 h 09 »
    when_iso: str  # for <time datetime>
    when_csv: str  # « 30/11/2026 20:09:05 » (what a French spreadsheet reads as a date)
    kind: str
    kind_label: str
    warning: bool
    actor: str
    member: str
    member_slug: str | None
    target: str
    detail: str
    ip: str


def line_view(event: AuditEvent) -> LineView:
    at = clock.local(event.at)
    return LineView(
        id=event.id,
        when=clock.moment(event.at),
        when_iso=at.isoformat(timespec="seconds"),
        when_csv=at.strftime("%d/%m/%Y %H:%M:%S"),
        kind=event.kind,
        kind_label=kind_label(event.kind),
        warning=event.kind in WARNING_KINDS,
        actor=_actor(event),
        member=event.member.name if event.member is not None else "—",
        member_slug=event.member.slug if event.member is not None else None,
        target=target_label(event.target),
        detail=detail_summary(event.detail),
        ip=event.ip or "—",
    )


def _cell(text: str) -> str:
    """A spreadsheet never runs a cell: a leading =, +, -, @ is quoted with an apostrophe."""
    return "'" + text if text.startswith(_SPREADSHEET_FORMULA) else text


def csv_header() -> list[str]:
    return [
        _("Date (%(zone)s)", zone=clock.zone_name()),
        _("Type"),
        _("Acteur"),
        _("Membre"),
        _("Objet"),
        _("Détail"),
        _("Adresse"),
    ]


def csv_row(line: LineView) -> list[str]:
    values = [line.when_csv, line.kind_label, line.actor, line.member, line.target, line.detail]
    return [_cell(value) for value in values] + [line.ip]


def csv_chunks(events: Iterable[AuditEvent], batch: int = 200) -> Iterator[str]:
    """The CSV export: a BOM, the header, then the lines (« ; »-separated), in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    buffer.write(CSV_BOM)
    writer.writerow(csv_header())
    for n, event in enumerate(events, 1):
        writer.writerow(csv_row(line_view(event)))
        if n % batch == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
