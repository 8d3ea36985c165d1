"""Plain-French sentences for non-technical readers, built from structured summaries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import ngettext

from topology.model import IncidentKind
from topology.model import IncidentSummary
from topology.model import MemberState
from topology.model import NodeState
from topology.model import Summary
from webapp.presenters import clock as presenters_clock


def clock(moment: datetime) -> str:
    """« 10 h 12 »: the portal's one clock (its time zone, the French way)."""
    return presenters_clock.time_of_day(moment)


def incident_sentence(incident: IncidentSummary) -> str:
    """« La liaison « Box fibre » est coupée depuis 10 h 12 ; 6 équipements derrière … »."""
    where = f" ({incident.site})" if incident.site else ""
    if incident.kind == IncidentKind.DOWN:
        if incident.role in ("access", "link"):
            text = _(
                "La liaison « %(label)s »%(where)s est coupée depuis %(time)s",
                label=incident.label,
                where=where,
                time=clock(incident.since),
            )
        else:
            text = _(
                "« %(label)s »%(where)s ne répond plus depuis %(time)s",
                label=incident.label,
                where=where,
                time=clock(incident.since),
            )
        if incident.affected_count:
            text += ngettext(
                " ; %(num)d équipement derrière est injoignable",
                " ; %(num)d équipements derrière sont injoignables",
                incident.affected_count,
            )
        return text + "."
    return _(
        "« %(label)s »%(where)s signale un problème depuis %(time)s.",
        label=incident.label,
        where=where,
        time=clock(incident.since),
    )


def headline(summary: Summary) -> str:
    """One line: « Tout fonctionne normalement » or « 2 pannes en cours »."""
    down = [i for i in summary.incidents if i.kind == IncidentKind.DOWN]
    other = [i for i in summary.incidents if i.kind != IncidentKind.DOWN]
    if not summary.incidents:
        if summary.overall == MemberState.UNKNOWN:
            return _("État inconnu : certains équipements ne donnent plus de nouvelles")
        if not summary.hosts:
            return _("Aucun équipement supervisé pour le moment")
        return _("Tout fonctionne normalement")
    parts = []
    if down:
        parts.append(ngettext("%(num)d panne en cours", "%(num)d pannes en cours", len(down)))
    if other:
        parts.append(ngettext("%(num)d alerte", "%(num)d alertes", len(other)))
    return " · ".join(parts)


def sentences(summary: Summary, care: Mapping[str, str] | None = None) -> list[str]:
    """One sentence per incident; ``care`` (root -> « Le support … s'en occupe … ») follows it."""
    care = care or {}
    return [
        f"{incident_sentence(incident)} {care[incident.root]}"
        if incident.root in care
        else incident_sentence(incident)
        for incident in summary.incidents
    ]


_STATE_WORDS = {
    NodeState.OK: lambda n: ngettext("%(num)d fonctionne", "%(num)d fonctionnent", n),
    NodeState.PROBLEM: lambda n: ngettext("%(num)d en panne", "%(num)d en panne", n),
    NodeState.UNREACHABLE: lambda n: ngettext("%(num)d injoignable", "%(num)d injoignables", n),
    NodeState.WARNING: lambda n: ngettext("%(num)d en alerte", "%(num)d en alerte", n),
    NodeState.MAINTENANCE: lambda n: ngettext(
        "%(num)d en maintenance", "%(num)d en maintenance", n
    ),
    NodeState.UNKNOWN: lambda n: ngettext(
        "%(num)d à l'état inconnu", "%(num)d à l'état inconnu", n
    ),
}


def count_words(states) -> str:
    """« 1 en panne, 4 injoignables » for display states, the ones that work left out."""
    counts = Counter(str(s) for s in states)
    return ", ".join(
        word(counts[key])
        for key, word in _STATE_WORDS.items()
        if key != NodeState.OK and counts[key]
    )


def state_counts(summary: Summary) -> str:
    """« 25 équipements : 22 fonctionnent, 1 en panne, 1 injoignable, 1 en alerte ».

    The same words as the nodes' badges: « en panne » is down, « en alerte » still works.
    """
    counts = {str(k): v for k, v in summary.counts.items()}
    parts = [word(counts[key]) for key, word in _STATE_WORDS.items() if counts.get(key)]
    total = ngettext("%(num)d équipement", "%(num)d équipements", summary.hosts)
    if not parts:
        return total
    return _("%(total)s : %(states)s", total=total, states=", ".join(parts))
