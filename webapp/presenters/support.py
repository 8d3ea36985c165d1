"""What the support pages show: requests, their thread, due dates and "support is on it".

Every time goes through :mod:`webapp.presenters.clock`; every status has a word and an
icon besides its colour. A member's view never carries an internal entry: the thread
is read through :func:`webapp.services.support.entries_for`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import ngettext

from webapp import scoping
from webapp.models import SupportEntry
from webapp.models import SupportRequest
from webapp.models import User
from webapp.models.choices import SUPPORT_CHANNEL_LABELS
from webapp.models.choices import SUPPORT_STATUS_DISPLAY
from webapp.models.choices import SUPPORT_URGENCY_LABELS
from webapp.models.choices import SupportChannel
from webapp.models.choices import SupportEntryKind
from webapp.models.choices import SupportStatus
from webapp.models.choices import SupportUrgency
from webapp.models.member import as_utc
from webapp.models.member import utcnow
from webapp.presenters import clock
from webapp.presenters import live
from webapp.presenters import problems as problems_view
from webapp.services import attachments
from webapp.services import support

URGENCY_CSS = {
    SupportUrgency.LOW: "unknown",
    SupportUrgency.NORMAL: "info",
    SupportUrgency.HIGH: "warning",
    SupportUrgency.CRITICAL: "problem",
}


NBSP = "\u00a0"


def duration(seconds: float | None, *, unknown: str | None = "—") -> str | None:
    """« 45 min », « 1 h 20 min », « 2 j 3 h », with no-break spaces (``unknown`` without one)."""
    if seconds is None:
        return unknown
    return _duration(seconds).replace(" ", NBSP)  # « 9 h 04 min » never breaks


def _duration(seconds: float) -> str:
    minutes = max(0, int(round(seconds / 60)))
    if minutes < 1:
        return _("moins d’une minute")
    if minutes < 60:
        return _("%(m)d min", m=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("%(h)d h %(m)02d min", h=hours, m=minutes) if minutes else _("%(h)d h", h=hours)
    hours = int(round((hours * 60 + minutes) / 60))
    days, hours = divmod(hours, 24)
    return _("%(d)d j %(h)d h", d=days, h=hours) if hours else _("%(d)d j", d=days)


@dataclass(frozen=True)
class StatusView:
    label: str
    css: str
    icon: str


def status_view(status: str) -> StatusView:
    label, css, icon = SUPPORT_STATUS_DISPLAY[SupportStatus(status)]
    return StatusView(str(label), css, icon)


@dataclass(frozen=True)
class Due:
    """Where a request stands against its targets, in words."""

    sentence: str
    overdue: bool


def due_of(request: SupportRequest, now: datetime | None = None) -> Due | None:
    """« Réponse attendue avant 20 h 15 », « En retard : résolution attendue depuis … »."""
    now = now or utcnow()
    if request.status == SupportStatus.WAITING_MEMBER:
        return Due(_("Délai suspendu pendant l’attente du membre"), False)
    if request.status not in (SupportStatus.NEW, SupportStatus.IN_PROGRESS):
        return None
    if request.first_response_at is None and request.response_due_at is not None:
        at, late, early = (
            as_utc(request.response_due_at),
            _("En retard : réponse attendue %(since)s"),
            _("Réponse attendue avant %(when)s"),
        )
    elif request.resolution_due_at is not None:
        at, late, early = (
            as_utc(request.resolution_due_at),
            _("En retard : résolution attendue %(since)s"),
            _("Résolution attendue avant %(when)s"),
        )
    else:
        return None
    if at < now:
        return Due(late % {"since": clock.since(at, now)}, True)
    return Due(early % {"when": _short_moment(at, now)}, False)


def _short_moment(at: datetime, now: datetime) -> str:
    if clock.local(at).date() == clock.local(now).date():
        return clock.time_of_day(at)
    return clock.moment(at)


def care_sentence(
    care: support.Care | None, acknowledged_at: datetime | None = None, now: datetime | None = None
) -> str | None:
    """« Le support du syndicat s'en occupe depuis 20 h 15 », or the request that waits.

    A problem acknowledged by support, or a request support has answered: support is on
    it since then. A request nobody has answered yet is said as such, never as more.
    """
    times = []
    if acknowledged_at is not None:
        times.append(as_utc(acknowledged_at))
    if care is not None and care.answered:
        times.append(care.since)
    if times:
        return _("Le support du syndicat s’en occupe %(since)s", since=clock.since(min(times), now))
    if care is not None:
        return _("Une demande au support est ouverte %(since)s", since=clock.since(care.since, now))
    return None


def care_sentences(member, summary, now: datetime | None = None) -> dict[str, str]:
    """Incident root -> « Le support du syndicat s'en occupe depuis 20 h 15 » (or the request
    that waits), for the incidents support acknowledged or an open request covers."""
    if summary is None or not summary.incidents:
        return {}
    covering = support.care_of(member)
    result = {}
    for incident in summary.incidents:
        care = covering.get(incident.root)
        if care is None:
            care = next(
                (covering[h] for h in getattr(incident, "affected", ()) if h in covering), None
            )
        acknowledged_at = getattr(incident, "acknowledged_at", None)
        if (
            incident.acknowledged
            and acknowledged_at is None
            and (care is None or not care.answered)
        ):
            result[incident.root] = _("Le support du syndicat s’en occupe.")
            continue
        sentence = care_sentence(care, acknowledged_at if incident.acknowledged else None, now)
        if sentence:
            result[incident.root] = sentence + "."
    return result


def node_care(member, status, node_id: str, now: datetime | None = None) -> str | None:
    """The care sentence of the incident a node belongs to (its own, or its cause's)."""
    if status is None:
        return None
    care = care_sentences(member, status.summary, now)
    node = next((n for n in status.member_map.nodes if n.id == node_id), None)
    if node is None:
        return None
    return care.get(node.id) or (care.get(node.cause) if node.cause else None)


@dataclass(frozen=True)
class RequestRow:
    """One request in a list (the member's, the queue)."""

    request: SupportRequest
    status: StatusView
    urgency: str
    urgency_css: str
    category: str
    due: Due | None
    updated: str
    assignee: str | None


def row_of(request: SupportRequest, now: datetime | None = None) -> RequestRow:
    return RequestRow(
        request=request,
        status=status_view(request.status),
        urgency=str(SUPPORT_URGENCY_LABELS.get(SupportUrgency(request.urgency), request.urgency)),
        urgency_css=URGENCY_CSS.get(SupportUrgency(request.urgency), "info"),
        category=support.category_label(request.category),
        due=due_of(request, now),
        updated=clock.moment(as_utc(request.updated_at)),
        assignee=request.assignee.name if request.assignee else None,
    )


@dataclass(frozen=True)
class EntryView:
    """One line of the thread, as its reader sees it."""

    entry: SupportEntry
    author: str
    side: str  # "staff" | "member" | "system"
    when: str
    iso: str
    sentence: str | None  # what happened, for changes
    body: str | None
    internal: bool


def _author(entry: SupportEntry) -> tuple[str, str]:
    user = entry.author
    if user is None:
        return _("Vigie"), "system"
    if user.is_staff:
        return _("%(name)s (support du syndicat)", name=user.name), "staff"
    return user.name, "member"


def _entry_sentence(entry: SupportEntry) -> str | None:
    kind = entry.kind
    detail = entry.detail or {}
    if kind == SupportEntryKind.OPENED:
        if detail.get("channel") == SupportChannel.PHONE:
            return _("A ouvert la demande pour le membre (appel téléphonique).")
        return _("A ouvert la demande.")
    if kind == SupportEntryKind.STATUS:
        before = status_view(detail.get("from", SupportStatus.NEW)).label
        after = status_view(detail.get("to", SupportStatus.NEW)).label
        if detail.get("by") == support.SYSTEM:
            if detail.get("to") == SupportStatus.CLOSED:
                return _("Demande fermée automatiquement après le délai de réouverture.")
            return _(
                "Statut : %(before)s → %(after)s (réponse du membre reçue).",
                before=before,
                after=after,
            )
        if (
            detail.get("from") == SupportStatus.RESOLVED
            and detail.get("to") == SupportStatus.IN_PROGRESS
        ):
            return _("A rouvert la demande.")
        return _("Statut : %(before)s → %(after)s.", before=before, after=after)
    if kind == SupportEntryKind.ASSIGNED:
        if detail.get("to"):
            return _("A attribué la demande à %(name)s.", name=detail["to"])
        return _("A retiré l’attribution de la demande.")
    if kind == SupportEntryKind.ATTACHMENT:
        if detail.get("name"):
            return _("A joint le fichier « %(name)s ».", name=detail["name"])
        return _("A joint un fichier.")
    if kind == SupportEntryKind.RATING:
        if detail.get("rating") == support.SATISFIED:
            return _("Avis sur la réponse : satisfait.")
        return _("Avis sur la réponse : pas satisfait.")
    return None


def entry_view(entry: SupportEntry) -> EntryView:
    author, side = _author(entry)
    at = as_utc(entry.created_at)
    return EntryView(
        entry=entry,
        author=author,
        side=side,
        when=clock.moment(at),
        iso=at.isoformat(),
        sentence=_entry_sentence(entry),
        body=entry.body,
        internal=entry.internal,
    )


def context_view(request: SupportRequest) -> dict | None:
    """The node's state as it was when the request was opened (kept, never refreshed)."""
    data = request.context or {}
    host = data.get("host")
    if not host:
        return None
    from topology.model import NodeState
    from topology.model import Severity
    from webapp.models.choices import SEVERITY_LABELS
    from webapp.models.choices import STATE_DISPLAY

    def when(text: str | None) -> str:
        return clock.moment(datetime.fromisoformat(text)) if text else "—"

    try:
        state = str(STATE_DISPLAY[NodeState(host.get("state"))][0])
    except (KeyError, ValueError):
        state = str(host.get("state") or "")

    def severity(value) -> str:
        try:
            return str(SEVERITY_LABELS[Severity(int(value))])
        except (KeyError, ValueError, TypeError):
            return ""

    role = str(host.get("role") or "other")
    return {
        "label": host.get("label"),
        "state": state,
        "cause": host.get("cause"),
        "site": host.get("site"),
        "captured": when(data.get("captured_at")),
        "problems": [
            {
                "name": p.get("name"),
                "title": problems_view.title_of(str(p.get("name") or ""), role),
                "severity": severity(p.get("severity")),
                "since": when(p.get("since")),
            }
            for p in data.get("problems") or []
        ],
        "events": None
        if data.get("events") is None
        else [
            {
                "name": e.get("name"),
                "title": problems_view.title_of(str(e.get("name") or ""), role),
                "severity": severity(e.get("severity")),
                "started": when(e.get("started_at")),
                "ended": when(e.get("ended_at")) if e.get("ended_at") else _("en cours"),
            }
            for e in data.get("events") or []
        ],
    }


def facts(request: SupportRequest, *, staff: bool) -> list[tuple[str, str]]:
    """The request's key facts, label → value."""
    rows = [
        (_("Statut"), status_view(request.status).label),
        (_("Urgence"), str(SUPPORT_URGENCY_LABELS[SupportUrgency(request.urgency)])),
        (_("Catégorie"), support.category_label(request.category)),
        (_("Ouverte le"), clock.moment(as_utc(request.created_at))),
    ]
    if request.author is not None:
        rows.append((_("Par"), request.author.name))
    if request.channel != SupportChannel.PORTAL:
        rows.append((_("Reçue par"), str(SUPPORT_CHANNEL_LABELS[SupportChannel(request.channel)])))
    if request.contact:
        rows.append((_("À rappeler"), request.contact))
    if request.host_label:
        rows.append((_("Équipement"), request.host_label))
    if request.assignee:
        followed = request.assignee.name
    elif request.status in (SupportStatus.RESOLVED, SupportStatus.CLOSED):
        followed = _("personne")
    else:
        followed = _("pas encore attribuée")
    rows.append((_("Suivie par"), followed))
    if request.first_response_at:
        rows.append(
            (
                _("Première réponse"),
                duration(
                    (as_utc(request.first_response_at) - as_utc(request.created_at)).total_seconds()
                ),
            )
        )
    if request.resolved_at:
        spent = (as_utc(request.resolved_at) - as_utc(request.created_at)).total_seconds()
        rows.append((_("Résolue en"), duration(spent - (request.waiting_seconds or 0))))
    if staff and request.waiting_seconds:
        rows.append((_("Attente du membre"), duration(request.waiting_seconds)))
    return rows


@dataclass(frozen=True)
class Action:
    """A status change the reader may make, as a button."""

    status: str
    label: str
    needs_resolution: bool = False
    primary: bool = False


def actions(request: SupportRequest, user: User, now: datetime | None = None) -> list[Action]:
    side = support.side_of(user, request.member)
    labels = {
        SupportStatus.IN_PROGRESS: _("Prendre en charge")
        if request.status == SupportStatus.NEW
        else _("Rouvrir")
        if request.status == SupportStatus.RESOLVED
        else _("Reprendre"),
        SupportStatus.WAITING_MEMBER: _("Attendre le membre"),
        SupportStatus.RESOLVED: _("Marquer résolue"),
        SupportStatus.CLOSED: _("Fermer")
        if side == support.STAFF
        else _("Confirmer et fermer")
        if request.status == SupportStatus.RESOLVED
        else _("Retirer la demande"),
    }
    result = []
    for (before, after), who in support.TRANSITIONS.items():
        if before != request.status or side not in who:
            continue
        if (
            side == support.MEMBER_ADMIN
            and after == SupportStatus.IN_PROGRESS
            and not support.can_reopen(request, now)
        ):
            continue
        result.append(
            Action(
                str(after),
                str(labels[SupportStatus(after)]),
                needs_resolution=after == SupportStatus.RESOLVED,
                primary=after in (SupportStatus.IN_PROGRESS, SupportStatus.RESOLVED),
            )
        )
    return result


def requests_sentence(count: int) -> str:
    return ngettext("%(num)d demande", "%(num)d demandes", count)


# -- page contexts --------------------------------------------------------------------


def status_label(status: str) -> str:
    return status_view(status).label


def member_list(member, page) -> dict:
    now = utcnow()
    return {
        "member": member,
        "results": page,
        "rows": [row_of(r, now) for r in page.items],
    }


def new_form(member, form) -> dict:
    """The new request form: the equipment it is about, and an open request for the same incident."""  # noqa: E501
    light = support.node_context_light(member, form.hostid.data)
    duplicate = support.same_incident(member, form.hostid.data) if light else None
    return {
        "member": member,
        "host_label": light[1] if light else None,
        "duplicate": row_of(duplicate) if duplicate else None,
        "urgencies": [(u.value, str(label)) for u, label in SUPPORT_URGENCY_LABELS.items()],
    }


def thread(
    req: SupportRequest,
    user: User,
    *,
    staff_view: bool,
    errors: dict | None = None,
    error_form: str | None = None,
    comment_form=None,
    status_form=None,
) -> dict:
    """A request's page: facts, frozen context, thread, and what the reader may do."""
    now = utcnow()
    entries = support.entries_for(req, user)
    side = support.side_of(user, req.member)
    agents = support.staff_users() if staff_view else []
    return {
        "req": req,
        "member": req.member,
        "opened": clock.moment(as_utc(req.created_at)),
        "opened_iso": as_utc(req.created_at).isoformat(),
        "live_texts": live.connection_texts(),
        "staff_view": staff_view,
        "side": side,
        "row": row_of(req, now),
        "facts": facts(req, staff=staff_view),
        "context": context_view(req),
        "entries": [entry_view(e) for e in entries],
        "attachments": attachments.visible(user, req),
        "actions": actions(req, user, now),
        "can_comment": req.status != SupportStatus.CLOSED,
        "can_rate": (
            not user.is_staff
            and req.rating is None
            and req.resolved_at is not None
            and req.status in (SupportStatus.RESOLVED, SupportStatus.CLOSED)
        ),
        "can_reopen_until": (
            clock.moment(as_utc(req.resolved_at) + support.reopen_delay())
            if support.can_reopen(req, now)
            else None
        ),
        "agents": agents,
        "errors": errors or {},
        "error_form": error_form,
        "typed_comment": comment_form.body.data if comment_form is not None else "",
        "typed_internal": bool(comment_form.internal.data) if comment_form is not None else False,
        "typed_resolution": status_form.resolution.data if status_form is not None else "",
        "rating_label": (_("satisfait") if req.rating == support.SATISFIED else _("pas satisfait"))
        if req.rating
        else None,
    }


def queue(filters: support.QueueFilters, user: User, *, errors: dict | None = None) -> dict:
    """The support queue page: filters as chosen, one page of rows, headline counts."""
    now = utcnow()
    page = support.queue(filters, user, now)
    counts = support.counts(now)
    return {
        "filters": filters,
        "errors": errors or {},
        "results": page,
        "rows": [row_of(r, now) for r in page.items],
        "counts": counts,
        "live_texts": live.connection_texts(),
        "members": scoping.visible_members(user),
        "agents": support.staff_users(),
        "statuses": [(s.value, status_view(s).label) for s in SupportStatus],
        "urgencies": [(u.value, str(label)) for u, label in SUPPORT_URGENCY_LABELS.items()],
        "sorts": [
            ("due", _("Échéance la plus proche")),
            ("urgency", _("Urgence")),
            ("updated", _("Dernière activité")),
            ("created", _("Les plus récentes d’abord")),
            ("member", _("Membre")),
        ],
    }
