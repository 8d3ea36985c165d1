"""Support requests as a conversation: members ask, the syndicate's support answers.

Statuses (:class:`webapp.models.choices.SupportStatus`)::

    new → in_progress ⇄ waiting_member → resolved → closed
                 ↑__________________________|  (reopened by the member, within a delay)

Who moves what is in :data:`TRANSITIONS`. A thread of entries records every comment,
internal note (staff only, never shown to a member by any route), status change,
assignment, attachment and rating; each change is audited too. A message to the other
side goes through the outbox (portal + e-mail; push for a member's own requests).

Two people changing one request at once never lose a change: a form carries the
``version`` it was drawn from (:class:`Conflict` ``changed`` if the request moved on),
and the row's version column makes the ORM's ``UPDATE`` itself conditional.

Response times: ``response_due_at`` and ``resolution_due_at`` come from the urgency's
targets (``SUPPORT_TARGETS``, minutes). Waiting for the member moves the resolution due
date on by the time waited and adds it to ``waiting_seconds``: it never counts against
support. The first response is the first thing support does that the member sees (a
comment or a change of status).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from topology.model import NodeState
from webapp import scoping
from webapp.channels.base import ChannelName
from webapp.extensions import db
from webapp.live import events
from webapp.models import Member
from webapp.models import Membership
from webapp.models import SupportEntry
from webapp.models import SupportRequest
from webapp.models import User
from webapp.models.choices import SUPPORT_CATEGORY_LABELS
from webapp.models.choices import SUPPORT_OPEN_STATUSES
from webapp.models.choices import SUPPORT_STATUS_LABELS
from webapp.models.choices import SUPPORT_URGENCY_RANK
from webapp.models.choices import AuditKind
from webapp.models.choices import SupportChannel
from webapp.models.choices import SupportEntryKind
from webapp.models.choices import SupportStatus
from webapp.models.choices import SupportUrgency
from webapp.models.member import as_utc
from webapp.models.member import utcnow
from webapp.services import audit
from webapp.services import notices
from webapp.services import overview
from webapp.services import paging
from webapp.services import wall
from webapp.services.errors import Conflict
from webapp.services.errors import NotFound
from webapp.services.errors import PermissionDenied
from webapp.services.errors import ValidationError
from webapp.sources.base import SourceError

logger = logging.getLogger(__name__)

SUBJECT_MAX = 160
BODY_MAX = 10_000
CONTACT_MAX = 160
RATING_COMMENT_MAX = 2_000
QUEUE_PER_PAGE = 25
QUEUE_PER_PAGE_MAX = 100
SATISFIED = "satisfied"
UNSATISFIED = "unsatisfied"

STAFF = "staff"
MEMBER_ADMIN = "member_admin"
SYSTEM = "system"

S = SupportStatus
# (from, to) -> who may make the move: staff, a member admin, or the system (a member's
# comment takes a request waiting for them back to support).
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (S.NEW, S.IN_PROGRESS): frozenset({STAFF}),
    (S.NEW, S.WAITING_MEMBER): frozenset({STAFF}),
    (S.NEW, S.RESOLVED): frozenset({STAFF}),
    (S.NEW, S.CLOSED): frozenset({STAFF, MEMBER_ADMIN}),  # a duplicate, or withdrawn
    (S.IN_PROGRESS, S.WAITING_MEMBER): frozenset({STAFF}),
    (S.IN_PROGRESS, S.RESOLVED): frozenset({STAFF}),
    (S.IN_PROGRESS, S.CLOSED): frozenset({STAFF, MEMBER_ADMIN}),
    (S.WAITING_MEMBER, S.IN_PROGRESS): frozenset({STAFF, SYSTEM}),
    (S.WAITING_MEMBER, S.RESOLVED): frozenset({STAFF}),
    (S.WAITING_MEMBER, S.CLOSED): frozenset({STAFF, MEMBER_ADMIN}),
    (S.RESOLVED, S.IN_PROGRESS): frozenset({STAFF, MEMBER_ADMIN}),  # reopened
    (S.RESOLVED, S.CLOSED): frozenset({STAFF, MEMBER_ADMIN, SYSTEM}),
}

DEFAULT_TARGETS_MIN = {  # urgency -> (first response, resolution), in minutes
    SupportUrgency.CRITICAL: (30, 4 * 60),
    SupportUrgency.HIGH: (2 * 60, 24 * 60),
    SupportUrgency.NORMAL: (8 * 60, 3 * 24 * 60),
    SupportUrgency.LOW: (24 * 60, 7 * 24 * 60),
}


# -- configuration --------------------------------------------------------------------


def categories() -> dict[str, str]:
    """Category code -> label: ``SUPPORT_CATEGORIES`` (``code=Label;…`` or a mapping)."""
    configured = current_app.config.get("SUPPORT_CATEGORIES")
    if not configured:
        return {code: str(label) for code, label in SUPPORT_CATEGORY_LABELS.items()}
    if isinstance(configured, Mapping):
        return {str(k): str(v) for k, v in configured.items()}
    pairs = (item.split("=", 1) for item in str(configured).split(";") if "=" in item)
    return {code.strip(): label.strip() for code, label in pairs if code.strip()}


def category_label(code: str) -> str:
    return categories().get(code) or str(SUPPORT_CATEGORY_LABELS.get(code, code))


def targets() -> dict[str, tuple[int, int]]:
    """Urgency -> (first response, resolution) targets in seconds (``SUPPORT_TARGETS``).

    ``SUPPORT_TARGETS`` (minutes): a mapping ``{"high": [120, 1440]}`` or the string
    ``high=120/1440;critical=30/240``; urgencies it does not name keep the defaults.
    """
    result = {u: (r * 60, s * 60) for u, (r, s) in DEFAULT_TARGETS_MIN.items()}
    configured = current_app.config.get("SUPPORT_TARGETS") or {}
    if isinstance(configured, str):
        items = {}
        for part in configured.split(";"):
            if "=" in part and "/" in part:
                name, values = part.split("=", 1)
                items[name.strip()] = values.split("/", 1)
        configured = items
    for name, (response, resolution) in dict(configured).items():
        if name in result:
            result[name] = (int(float(response) * 60), int(float(resolution) * 60))
    return result


def reopen_delay() -> timedelta:
    return timedelta(days=float(current_app.config.get("SUPPORT_REOPEN_DAYS", 7)))


def can_reopen(request: SupportRequest, now: datetime | None = None) -> bool:
    """Whether the member may still reopen ``request`` (resolved, within the delay)."""
    if request.status != SupportStatus.RESOLVED or request.resolved_at is None:
        return False
    return (now or utcnow()) - as_utc(request.resolved_at) <= reopen_delay()


# -- who is asking --------------------------------------------------------------------


def side_of(user: User, member: Member) -> str:
    """``staff``, ``member_admin`` or ``viewer``: who ``user`` is for ``member``'s requests."""
    if user.is_staff:
        return STAFF
    if scoping.can_administer(user, member):
        return MEMBER_ADMIN
    return "viewer"


def get_for(user: User, request_id: int, member: Member | None = None) -> SupportRequest:
    """Request ``request_id`` if ``user`` may see it (and it is ``member``'s), else NotFound."""
    request = db.session.get(
        SupportRequest,
        request_id,
        options=[selectinload(SupportRequest.entries).selectinload(SupportEntry.author)],
    )
    if request is None or (member is not None and request.member_id != member.id):
        raise NotFound(request_id)
    if not user.is_staff:
        scoping.get_member(user, request.member.slug)  # NotFound for another member
    return request


def entries_for(request: SupportRequest, user: User) -> list[SupportEntry]:
    """The thread as ``user`` may read it: a member never sees an internal entry."""
    return [e for e in request.entries if user.is_staff or not e.internal]


# -- input ----------------------------------------------------------------------------


def _text(value: object, name: str, maximum: int, *, required: bool = True) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValidationError({name: _("Ce champ attend du texte.")})
    text = (value or "").strip()
    if "\x00" in text:
        raise ValidationError({name: _("Caractère non autorisé dans le texte.")})
    if not text:
        if required:
            raise ValidationError({name: _("Ce champ est obligatoire.")})
        return None
    if len(text) > maximum:
        raise ValidationError(
            {name: _("%(max)d caractères au plus (%(n)d saisis).", max=maximum, n=len(text))}
        )
    return text


@dataclass(frozen=True)
class NewRequest:
    subject: str
    message: str
    category: str
    urgency: str
    hostid: str | None = None
    contact: str | None = None


def parse_new(values: Mapping[str, object]) -> NewRequest:
    """Check a new request's fields (form or JSON); ValidationError names each bad one."""
    errors: dict[str, str] = {}
    parsed: dict[str, object] = {}
    for name, maximum, required in (
        ("subject", SUBJECT_MAX, True),
        ("message", BODY_MAX, True),
        ("contact", CONTACT_MAX, False),
    ):
        try:
            parsed[name] = _text(values.get(name), name, maximum, required=required)
        except ValidationError as exc:
            errors.update(exc.errors)
    category = values.get("category") or "question"
    if not isinstance(category, str) or category not in categories():
        errors["category"] = _("Choisissez une catégorie de la liste.")
    urgency = values.get("urgency") or SupportUrgency.NORMAL
    if not isinstance(urgency, str) or urgency not in set(SupportUrgency):
        errors["urgency"] = _("Choisissez une urgence de la liste.")
    hostid = values.get("hostid") or None
    if hostid is not None and (not isinstance(hostid, str) or len(hostid) > 32):
        errors["hostid"] = _("Équipement inconnu.")
    if errors:
        raise ValidationError(errors)
    return NewRequest(
        subject=parsed["subject"],
        message=parsed["message"],
        category=str(category),
        urgency=str(urgency),
        hostid=hostid,
        contact=parsed["contact"],
    )


# -- the node a request is about ------------------------------------------------------


@dataclass(frozen=True)
class NodeContext:
    """What a request opened from a node carries, kept as it was at creation."""

    hostid: str
    label: str
    incident_root: str | None
    data: dict = field(default_factory=dict)


def node_context(
    member: Member, hostid: str | None, now: datetime | None = None
) -> NodeContext | None:
    """The node ``hostid`` of ``member``'s map now: label, root cause, problems, 24 h events."""
    if not hostid:
        return None
    status = overview.status_of(member)
    if status is None:
        return None
    nodes = {n.id: n for n in status.member_map.nodes}
    node = nodes.get(hostid)
    if node is None or node.id == status.member_map.root:
        return None
    now = now or utcnow()
    root = None
    if node.state in (NodeState.PROBLEM, NodeState.UNREACHABLE, NodeState.WARNING):
        root = node.cause or node.id
    data = {
        "host": {
            "id": node.id,
            "label": node.label,
            "role": str(node.role),
            "site": node.site,
            "state": str(node.state),
            "cause": nodes[node.cause].label if node.cause and node.cause in nodes else None,
        },
        "problems": [
            {
                "name": p.name,
                "severity": int(p.severity),
                "since": as_utc(p.since).isoformat(),
                "acknowledged": p.acknowledged,
            }
            for p in node.problems
        ],
        "events": _events_24h(hostid, now),
        "captured_at": now.isoformat(),
    }
    return NodeContext(hostid=node.id, label=node.label, incident_root=root, data=data)


def _events_24h(hostid: str, now: datetime) -> list[dict] | None:
    """The host's events of the last 24 hours, or None if the source cannot tell."""
    from webapp.live.monitor import get_monitor  # the source, built on first use

    source = get_monitor().source
    reader = getattr(source, "host_events", None)
    if reader is None:
        return None
    try:
        found = reader(hostid, now - timedelta(hours=24))
    except SourceError as exc:
        logger.warning("Events of %s unavailable for a support request: %s", hostid, exc)
        return None
    return [
        {
            "name": e.name,
            "severity": int(e.severity),
            "started_at": as_utc(e.started_at).isoformat(),
            "ended_at": as_utc(e.ended_at).isoformat() if e.ended_at else None,
        }
        for e in found[:100]
    ]


def host_label(member: Member, hostid: str | None) -> str | None:
    """The label of one of the member's nodes, or ``None`` if it is not one of them."""
    context = node_context_light(member, hostid)
    return context[1] if context else None


def node_context_light(member: Member, hostid: str | None) -> tuple[str, str, str | None] | None:
    """(hostid, label, incident root) of a node of the member's map now, without events."""
    if not hostid:
        return None
    status = overview.status_of(member)
    if status is None:
        return None
    for node in status.member_map.nodes:
        if node.id == hostid and node.id != status.member_map.root:
            root = None
            if node.state in (NodeState.PROBLEM, NodeState.UNREACHABLE, NodeState.WARNING):
                root = node.cause or node.id
            return node.id, node.label, root
    return None


def same_incident(member: Member, hostid: str | None) -> SupportRequest | None:
    """An open request of ``member`` about the same incident as node ``hostid`` now."""
    light = node_context_light(member, hostid)
    if light is None:
        return None
    hostid, _label, root = light
    keys = {k for k in (root, hostid) if k}
    return db.session.scalars(
        select(SupportRequest)
        .where(
            SupportRequest.member_id == member.id,
            SupportRequest.status.in_(SUPPORT_OPEN_STATUSES),
            or_(SupportRequest.incident_root.in_(keys), SupportRequest.hostid.in_(keys)),
        )
        .order_by(SupportRequest.created_at)
        .limit(1)
    ).first()


# -- opening --------------------------------------------------------------------------


def open_request(
    member: Member,
    author: User,
    new: NewRequest,
    *,
    channel: str = SupportChannel.PORTAL,
    now: datetime | None = None,
) -> SupportRequest:
    """Open a request for ``member`` (a member's user, or staff on their behalf)."""
    if not author.is_staff:
        scoping.get_member(author, member.slug)  # NotFound for another member's user
    elif channel == SupportChannel.PORTAL:
        channel = SupportChannel.PHONE  # staff opening for a member: a call, usually
    now = now or utcnow()
    context = node_context(member, new.hostid, now)
    response_s, resolution_s = targets()[new.urgency]
    request = SupportRequest(
        member=member,
        author=author,
        subject=new.subject,
        message=new.message,
        category=new.category,
        urgency=new.urgency,
        channel=str(channel),
        contact=new.contact,
        hostid=context.hostid if context else None,
        host_label=context.label if context else None,
        incident_root=context.incident_root if context else None,
        context=context.data if context else {},
        status=SupportStatus.NEW,
        created_at=now,
        updated_at=now,
        response_due_at=now + timedelta(seconds=response_s),
        resolution_due_at=now + timedelta(seconds=resolution_s),
    )
    db.session.add(request)
    _entry(
        request,
        author,
        SupportEntryKind.OPENED,
        body=None,
        now=now,
        detail={"channel": str(channel)},
    )
    db.session.flush()
    audit.record(
        AuditKind.SUPPORT_OPENED,
        actor=author,
        member=member,
        target=f"support {request.id}",
        detail={
            "subject": request.subject,
            "urgency": request.urgency,
            "category": request.category,
            "channel": request.channel,
        },
    )
    if author.is_staff:
        _tell_member(
            request,
            key=f"support-{request.id}-opened",
            subject=_(
                "Demande n° %(id)d ouverte pour vous : %(subject)s",
                id=request.id,
                subject=request.subject,
            ),
            body=_(
                "Le support du syndicat a ouvert cette demande pour %(member)s.\n\n%(message)s",
                member=member.name,
                message=request.message,
            ),
        )
    else:
        _tell_staff(
            request,
            key=f"support-{request.id}-opened",
            subject=_(
                "Nouvelle demande de %(member)s : %(subject)s",
                member=member.name,
                subject=request.subject,
            ),
            body=request.message,
        )
    db.session.commit()
    logger.info("Support request %s opened by %s for %s", request.id, author.email, member.slug)
    _publish(request)
    return request


# -- the thread -----------------------------------------------------------------------


def _entry(
    request: SupportRequest,
    author: User | None,
    kind: str,
    *,
    body: str | None,
    now: datetime,
    internal: bool = False,
    detail: dict | None = None,
) -> SupportEntry:
    entry = SupportEntry(
        request=request,
        author=author,
        kind=str(kind),
        body=body,
        internal=internal,
        detail=detail or {},
        created_at=now,
    )
    db.session.add(entry)
    return entry


def _check_version(request: SupportRequest, expected: int | None) -> None:
    if expected is not None and expected != request.version:
        last = request.entries[-1] if request.entries else None
        who = last.author.name if last and last.author else None
        raise Conflict(
            "changed",
            _(
                "Cette demande a été modifiée entre-temps%(by)s : relisez-la avant de recommencer.",
                by=_(" par %(name)s", name=who) if who else "",
            ),
            version=request.version,
        )


def _commit(request: SupportRequest, *, flush_only: bool = False) -> None:
    """Commit (or flush) the request's change; a change made meanwhile elsewhere is a Conflict."""
    try:
        if flush_only:
            db.session.flush()
        else:
            db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(
            "changed",
            _(
                "Cette demande vient d’être modifiée par quelqu’un d’autre : relisez-la avant de recommencer."  # noqa: E501
            ),
        ) from None


def add_comment(
    request: SupportRequest,
    user: User,
    body: object,
    *,
    internal: bool = False,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> SupportEntry:
    """A comment for both sides, or (staff only) an internal note."""
    side = side_of(user, request.member)
    if internal and side != STAFF:
        raise PermissionDenied("internal notes are for the syndicate's staff")
    text = _text(body, "body", BODY_MAX)
    if request.status == SupportStatus.CLOSED:
        raise Conflict("closed", _("Cette demande est fermée : ouvrez-en une nouvelle."))
    _check_version(request, expected_version)
    now = now or utcnow()
    entry = _entry(
        request,
        user,
        SupportEntryKind.NOTE if internal else SupportEntryKind.COMMENT,
        body=text,
        now=now,
        internal=internal,
    )
    _commit(request, flush_only=True)
    audit.record(
        AuditKind.SUPPORT_COMMENTED,
        actor=user,
        member=request.member,
        target=f"support {request.id}",
        detail={"internal": internal, "entry": entry.id},
    )
    message_sent(request, user, entry, text, now=now)
    _commit(request)
    _publish(request)
    return entry


def message_sent(
    request: SupportRequest, user: User, entry: SupportEntry, text: str, *, now: datetime
) -> None:
    """What a message (a comment, an attachment) does besides its thread line (caller commits).

    From support and not internal: the first response, if none yet. From the member: a
    request waiting for them goes back to support. Not internal: the other side is told.
    """
    side = side_of(user, request.member)
    request.updated_at = now
    if side == STAFF and not entry.internal and request.first_response_at is None:
        request.first_response_at = now
    if side != STAFF and request.status == SupportStatus.WAITING_MEMBER:
        _move(request, user, SupportStatus.IN_PROGRESS, now=now, by=SYSTEM)
    _commit(request, flush_only=True)
    if entry.internal:
        return
    key = f"support-{request.id}-entry-{entry.id}"
    if side == STAFF:
        _tell_member(
            request,
            key=key,
            subject=_("Réponse du support : %(subject)s", subject=request.subject),
            body=text,
        )
    else:
        _tell_staff(
            request,
            key=key,
            subject=_(
                "%(member)s a répondu : %(subject)s",
                member=request.member.name,
                subject=request.subject,
            ),
            body=text,
        )


def _move(
    request: SupportRequest,
    user: User | None,
    to: str,
    *,
    now: datetime,
    by: str,
    body: str | None = None,
) -> SupportEntry:
    """Change the status in the session, with its clocks and its thread line."""
    before = request.status
    if before == SupportStatus.WAITING_MEMBER and request.waiting_since is not None:
        waited = max(0, int((now - as_utc(request.waiting_since)).total_seconds()))
        request.waiting_seconds = (request.waiting_seconds or 0) + waited
        if request.resolution_due_at is not None:
            request.resolution_due_at = as_utc(request.resolution_due_at) + timedelta(
                seconds=waited
            )
        request.waiting_since = None
    if to == SupportStatus.WAITING_MEMBER:
        request.waiting_since = now
    if to == SupportStatus.RESOLVED:
        request.resolved_at = now
    if before == SupportStatus.RESOLVED and to == SupportStatus.IN_PROGRESS:
        request.reopened_count = (request.reopened_count or 0) + 1
        request.resolved_at = None
    if to == SupportStatus.CLOSED:
        request.closed_at = now
    if by == STAFF and request.first_response_at is None:
        request.first_response_at = now
    request.status = str(to)
    request.updated_at = now
    return _entry(
        request,
        user,
        SupportEntryKind.STATUS,
        body=body,
        now=now,
        detail={"from": str(before), "to": str(to), "by": by},
    )


def change_status(
    request: SupportRequest,
    user: User,
    to: object,
    *,
    resolution: object = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> SupportRequest:
    """Move ``request`` to status ``to`` if ``user`` may (see :data:`TRANSITIONS`)."""
    if not isinstance(to, str) or to not in set(SupportStatus):
        raise ValidationError({"status": _("Statut inconnu.")})
    side = side_of(user, request.member)
    if side == "viewer":
        raise PermissionDenied("viewers do not change a request's status")
    allowed = TRANSITIONS.get((request.status, to))
    if allowed is None:
        raise Conflict(
            "transition",
            _(
                "Une demande « %(from)s » ne peut pas passer à « %(to)s ».",
                **{
                    "from": SUPPORT_STATUS_LABELS[SupportStatus(request.status)],
                    "to": SUPPORT_STATUS_LABELS[SupportStatus(to)],
                },
            ),
            current_status=request.status,
        )
    if side not in allowed:
        raise PermissionDenied(f"{side} may not move a request from {request.status} to {to}")
    now = now or utcnow()
    text = None
    if to == SupportStatus.RESOLVED:
        text = _text(resolution, "resolution", BODY_MAX)
    if (
        side == MEMBER_ADMIN
        and request.status == SupportStatus.RESOLVED
        and to == SupportStatus.IN_PROGRESS
    ):
        if not can_reopen(request, now):
            raise Conflict(
                "reopen_too_late",
                _(
                    "Cette demande a été résolue il y a plus de %(days)d jours : ouvrez-en une nouvelle.",  # noqa: E501
                    days=reopen_delay().days,
                ),
            )
    _check_version(request, expected_version)
    before = request.status
    if text is not None:
        request.resolution = text
    entry = _move(request, user, to, now=now, by=side, body=text)
    _commit(request, flush_only=True)
    audit.record(
        AuditKind.SUPPORT_STATUS,
        actor=user,
        member=request.member,
        target=f"support {request.id}",
        detail={"from": str(before), "to": str(to)},
    )
    key = f"support-{request.id}-entry-{entry.id}"
    label = SUPPORT_STATUS_LABELS[SupportStatus(to)]
    if side == STAFF:
        if to == SupportStatus.RESOLVED:
            _tell_member(
                request,
                key=key,
                subject=_("Demande résolue : %(subject)s", subject=request.subject),
                body=_(
                    "Le support du syndicat a résolu votre demande. Ce qui a été fait :\n\n%(what)s\n\nSi le problème revient, vous pouvez la rouvrir pendant %(days)d jours.",  # noqa: E501
                    what=text,
                    days=reopen_delay().days,
                ),
            )
        elif to == SupportStatus.WAITING_MEMBER:
            _tell_member(
                request,
                key=key,
                subject=_("Le support attend votre réponse : %(subject)s", subject=request.subject),
                body=_("Le support du syndicat a besoin d’une réponse de votre part pour avancer."),
            )
        else:
            _tell_member(
                request,
                key=key,
                subject=_(
                    "Votre demande est « %(status)s » : %(subject)s",
                    status=label,
                    subject=request.subject,
                ),
                body=_("Le support du syndicat a changé le statut de votre demande."),
            )
    else:
        _tell_staff(
            request,
            key=key,
            subject=_(
                "%(member)s : demande « %(status)s » — %(subject)s",
                member=request.member.name,
                status=label,
                subject=request.subject,
            ),
            body=_("Changé par %(name)s.", name=user.name),
        )
    _commit(request)
    logger.info("Support request %s: %s -> %s by %s", request.id, before, to, user.email)
    _publish(request)
    return request


def assign(
    request: SupportRequest,
    user: User,
    assignee_id: int | None,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> SupportRequest:
    """Give ``request`` to a support agent (``None``: to nobody). Staff only."""
    if not user.is_staff:
        raise PermissionDenied("only the syndicate's staff assign requests")
    assignee = None
    if assignee_id is not None:
        assignee = db.session.get(User, assignee_id)
        if assignee is None or not assignee.is_staff or not assignee.active:
            raise ValidationError({"assignee": _("Choisissez un membre du support.")})
    _check_version(request, expected_version)
    if request.assignee_id == (assignee.id if assignee else None):
        return request
    now = now or utcnow()
    before = request.assignee.name if request.assignee else None
    request.assignee = assignee
    request.updated_at = now
    _entry(
        request,
        user,
        SupportEntryKind.ASSIGNED,
        body=None,
        now=now,
        internal=True,
        detail={"from": before, "to": assignee.name if assignee else None},
    )
    _commit(request, flush_only=True)
    audit.record(
        AuditKind.SUPPORT_ASSIGNED,
        actor=user,
        member=request.member,
        target=f"support {request.id}",
        detail={"from": before, "to": assignee.name if assignee else None},
    )
    if assignee is not None and assignee.id != user.id:
        notices.tell(
            [assignee],
            key=f"support-{request.id}-assigned-{request.version}-{assignee.id}",
            kind="support",
            subject=_(
                "Demande n° %(id)d attribuée : %(subject)s", id=request.id, subject=request.subject
            ),
            body=_(
                "%(name)s vous a attribué cette demande de %(member)s.",
                name=user.name,
                member=request.member.name,
            ),
            path=f"/support/{request.id}",
            link_label=_("Ouvrir la demande"),
        )
    _commit(request)
    _publish(request)
    return request


def rate(
    request: SupportRequest,
    user: User,
    satisfied: object,
    comment: object = None,
    *,
    now: datetime | None = None,
) -> SupportRequest:
    """The member's opinion of the answer, once, after resolution."""
    if user.is_staff:
        raise PermissionDenied("the member rates the answer")
    if (
        request.status not in (SupportStatus.RESOLVED, SupportStatus.CLOSED)
        or request.resolved_at is None
    ):
        raise Conflict(
            "not_resolved", _("Vous pourrez donner votre avis une fois la demande résolue.")
        )
    if request.rating is not None:
        raise Conflict(
            "already_rated", _("Votre avis sur cette demande est déjà enregistré. Merci !")
        )
    if not (satisfied is True or satisfied is False or satisfied in (SATISFIED, UNSATISFIED)):
        raise ValidationError({"rating": _("Choisissez « satisfait » ou « pas satisfait ».")})
    text = _text(comment, "comment", RATING_COMMENT_MAX, required=False)
    now = now or utcnow()
    value = SATISFIED if satisfied is True or satisfied == SATISFIED else UNSATISFIED
    request.rating = value
    request.rating_comment = text
    request.rated_at = now
    request.updated_at = now
    _entry(request, user, SupportEntryKind.RATING, body=text, now=now, detail={"rating": value})
    audit.record(
        AuditKind.SUPPORT_RATED,
        actor=user,
        member=request.member,
        target=f"support {request.id}",
        detail={"rating": value},
    )
    _commit(request)
    _publish(request)
    return request


def close(request_id: int, user: User) -> SupportRequest:
    """Close a request at once (staff): ``/support/<id>/cloturer``."""
    request = get_for(user, request_id)
    if request.status != SupportStatus.CLOSED:
        change_status(request, user, SupportStatus.CLOSED)
    return request


def close_resolved(now: datetime | None = None) -> int:
    """Close the requests resolved longer ago than the reopening delay (the worker, daily)."""
    now = now or utcnow()
    due = db.session.scalars(
        select(SupportRequest).where(
            SupportRequest.status == SupportStatus.RESOLVED,
            SupportRequest.resolved_at < now - reopen_delay(),
        )
    ).all()
    closed = 0
    for request in due:
        _move(request, None, SupportStatus.CLOSED, now=now, by=SYSTEM)
        try:
            db.session.commit()
        except StaleDataError:  # someone reopened it meanwhile
            db.session.rollback()
            continue
        closed += 1
        _publish(request)
    return closed


# -- telling the other side -----------------------------------------------------------


def _member_path(request: SupportRequest) -> str:
    return f"/membres/{request.member.slug}/support/{request.id}"


def _member_recipients(request: SupportRequest) -> list[User]:
    """The request's author if a member's user still, else the member's administrators."""
    author = request.author
    if author is not None and author.active and not author.is_staff:
        member_ids = {m.member_id for m in author.memberships}
        if request.member_id in member_ids:
            return [author]
    return notices.member_admins(request.member)


def _tell_member(request: SupportRequest, *, key: str, subject: str, body: str) -> None:
    recipients = _member_recipients(request)
    channels = notices.CHANNELS
    if request.author is not None and request.author in recipients:
        channels = (*notices.CHANNELS, ChannelName.PUSH)  # their own request
    notices.tell(
        recipients,
        key=key,
        kind="support",
        subject=subject,
        body=body,
        path=_member_path(request),
        link_label=_("Voir la demande"),
        channels=channels,
    )


def staff_users() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.staff_role.is_not(None), User.active.is_(True))
            .order_by(User.name)
        )
    )


def _tell_staff(request: SupportRequest, *, key: str, subject: str, body: str) -> None:
    recipients = (
        [request.assignee] if request.assignee and request.assignee.active else staff_users()
    )
    notices.tell(
        recipients,
        key=key,
        kind="support",
        subject=subject,
        body=body,
        path=f"/support/{request.id}",
        link_label=_("Ouvrir la demande"),
    )


def _publish(request: SupportRequest) -> None:
    """Tell open pages (after the commit): the queue, the thread, the member's map and wall."""
    payload = {
        "id": request.id,
        "member": request.member.slug,
        "version": request.version,
        "status": request.status,
    }
    events.publish("support.update", payload, events.SUPPORT_ROOM)
    events.publish("support.update", payload, events.support_request_room(request.id))
    events.publish(
        "support.update", {"member": request.member.slug}, events.member_room(request.member.slug)
    )
    events.publish(
        "wall.update", {"tiles": [wall.open_requests_tile(request.member)]}, events.WALL_ROOM
    )


# -- reading --------------------------------------------------------------------------


def for_member(member: Member, page: int = 1, per_page: int = QUEUE_PER_PAGE) -> paging.Page:
    """A member's requests, newest first."""
    query = (
        select(SupportRequest)
        .where(SupportRequest.member_id == member.id)
        .options(selectinload(SupportRequest.author), selectinload(SupportRequest.assignee))
    )
    return paging.page_of(
        query,
        [SupportRequest.created_at.desc(), SupportRequest.id.desc()],
        page,
        per_page,
        QUEUE_PER_PAGE_MAX,
    )


def overdue_clause(now: datetime):
    """SQL: an open request past its first-response or resolution due date (not waiting)."""
    return and_(
        SupportRequest.status.in_((SupportStatus.NEW, SupportStatus.IN_PROGRESS)),
        or_(
            and_(SupportRequest.first_response_at.is_(None), SupportRequest.response_due_at < now),
            SupportRequest.resolution_due_at < now,
        ),
    )


def is_overdue(request: SupportRequest, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if request.status not in (SupportStatus.NEW, SupportStatus.IN_PROGRESS):
        return False
    if (
        request.first_response_at is None
        and request.response_due_at
        and as_utc(request.response_due_at) < now
    ):
        return True
    return bool(request.resolution_due_at and as_utc(request.resolution_due_at) < now)


SORTS = ("due", "created", "updated", "urgency", "member")


@dataclass(frozen=True)
class QueueFilters:
    """The support queue's filters (all optional): what ``/support`` and the API accept."""

    statuses: tuple[str, ...] = tuple(SUPPORT_OPEN_STATUSES)
    member: str | None = None  # a member's slug
    assignee: str | None = None  # "me", "none" or a user id
    urgency: str | None = None
    overdue: bool = False
    q: str | None = None
    sort: str = "due"
    page: int = 1
    per_page: int = QUEUE_PER_PAGE


def parse_filters(values: Mapping[str, object], statuses: list[str] | None = None) -> QueueFilters:
    """Read the queue's filters from a query string; bad values are a ValidationError."""
    errors = {}
    chosen = tuple(statuses or ())
    if chosen == ("all",):
        chosen = tuple(SupportStatus)
    if not chosen:
        chosen = tuple(SUPPORT_OPEN_STATUSES)
    if any(s not in set(SupportStatus) for s in chosen):
        errors["status"] = _("Statut inconnu.")
    urgency = values.get("urgency") or None
    if urgency is not None and urgency not in set(SupportUrgency):
        errors["urgency"] = _("Urgence inconnue.")
    assignee = values.get("assignee") or None
    if assignee is not None and assignee not in ("me", "none") and not str(assignee).isdigit():
        errors["assignee"] = _("Personne inconnue.")
    sort = values.get("sort") or "due"
    if sort not in SORTS:
        errors["sort"] = _("Tri inconnu.")
    q = values.get("q") or None
    if q is not None and len(str(q)) > 200:
        errors["q"] = _("200 caractères au plus.")
    page_text = str(values.get("page") or "1")
    page = int(page_text) if page_text.isdigit() and len(page_text) < 7 else 0
    if page < 1:
        errors["page"] = _("Numéro de page invalide.")
    member = values.get("member") or None
    if member is not None and len(str(member)) > 80:
        errors["member"] = _("Membre inconnu.")
    if errors:
        raise ValidationError(errors)
    return QueueFilters(
        statuses=chosen,
        member=str(member) if member else None,
        assignee=str(assignee) if assignee else None,
        urgency=str(urgency) if urgency else None,
        overdue=str(values.get("overdue") or "") in ("1", "true", "on", "oui"),
        q=str(q).strip() if q else None,
        sort=str(sort),
        page=page,
    )


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def queue_query(filters: QueueFilters, user: User, now: datetime | None = None) -> Select:
    now = now or utcnow()
    query = select(SupportRequest).where(SupportRequest.status.in_(filters.statuses))
    if filters.member:
        query = query.join(Member, Member.id == SupportRequest.member_id).where(
            Member.slug == filters.member
        )
    if filters.assignee == "me":
        query = query.where(SupportRequest.assignee_id == user.id)
    elif filters.assignee == "none":
        query = query.where(SupportRequest.assignee_id.is_(None))
    elif filters.assignee:
        query = query.where(SupportRequest.assignee_id == int(filters.assignee))
    if filters.urgency:
        query = query.where(SupportRequest.urgency == filters.urgency)
    if filters.overdue:
        query = query.where(overdue_clause(now))
    if filters.q:
        pattern = _like(filters.q.lower())
        in_thread = exists().where(
            SupportEntry.request_id == SupportRequest.id,
            func.lower(SupportEntry.body).like(pattern, escape="\\"),
        )
        query = query.where(
            or_(
                func.lower(SupportRequest.subject).like(pattern, escape="\\"),
                func.lower(SupportRequest.message).like(pattern, escape="\\"),
                in_thread,
            )
        )
    return query


def _order(filters: QueueFilters) -> list:
    rank = case(
        {u.value: -r for u, r in SUPPORT_URGENCY_RANK.items()},
        value=SupportRequest.urgency,
        else_=0,
    )
    due = func.coalesce(
        case(
            (SupportRequest.first_response_at.is_(None), SupportRequest.response_due_at),
            else_=SupportRequest.resolution_due_at,
        ),
        SupportRequest.created_at,
    )
    return {
        "due": [due, SupportRequest.id],
        "created": [SupportRequest.created_at.desc(), SupportRequest.id.desc()],
        "updated": [SupportRequest.updated_at.desc(), SupportRequest.id.desc()],
        "urgency": [rank, due, SupportRequest.id],
        "member": [Member.name, SupportRequest.id],
    }[filters.sort]


def queue(filters: QueueFilters, user: User, now: datetime | None = None) -> paging.Page:
    """One page of the support queue (staff)."""
    if not user.is_staff:
        raise PermissionDenied("the support queue is the syndicate staff's")
    query = queue_query(filters, user, now).options(
        selectinload(SupportRequest.member), selectinload(SupportRequest.assignee)
    )
    if filters.sort == "member" and not filters.member:
        query = query.join(Member, Member.id == SupportRequest.member_id)
    return paging.page_of(
        query, _order(filters), filters.page, filters.per_page, QUEUE_PER_PAGE_MAX
    )


def counts(now: datetime | None = None) -> dict[str, int]:
    """Open, unassigned and overdue requests: the queue's and the wall's headline."""
    now = now or utcnow()
    open_ = SupportRequest.status.in_(SUPPORT_OPEN_STATUSES)
    row = db.session.execute(
        select(
            func.count().filter(open_),
            func.count().filter(and_(open_, SupportRequest.assignee_id.is_(None))),
            func.count().filter(overdue_clause(now)),
        ).select_from(SupportRequest)
    ).one()
    return {"open": row[0] or 0, "unassigned": row[1] or 0, "overdue": row[2] or 0}


# -- "support is on it" ---------------------------------------------------------------


@dataclass(frozen=True)
class Care:
    """An open request covering a node's incident: since when, and whether support answered."""

    request_id: int
    since: datetime
    answered: bool  # support has responded (or taken it): "s'en occupe"; else "demande ouverte"


def care_of(member: Member) -> dict[str, Care]:
    """Node id (the request's node and its incident's root) -> the open request covering it."""
    rows = db.session.scalars(
        select(SupportRequest)
        .where(
            SupportRequest.member_id == member.id, SupportRequest.status.in_(SUPPORT_OPEN_STATUSES)
        )
        .order_by(SupportRequest.created_at)
    ).all()
    result: dict[str, Care] = {}
    for row in rows:
        answered = row.first_response_at is not None
        since = as_utc(row.first_response_at if answered else row.created_at)
        care = Care(request_id=row.id, since=since, answered=answered)
        for key in (row.incident_root, row.hostid):
            if key and (key not in result or (care.answered and not result[key].answered)):
                result[key] = care
    return result


def member_users(member: Member) -> list[User]:
    """Active users of ``member`` (for the staff's "on behalf of" form)."""
    return list(
        db.session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.member_id == member.id, User.active.is_(True))
            .order_by(User.name)
        )
    )


__all__ = [
    "MEMBER_ADMIN",
    "STAFF",
    "TRANSITIONS",
    "Care",
    "NewRequest",
    "QueueFilters",
    "add_comment",
    "assign",
    "care_of",
    "change_status",
    "close",
    "close_resolved",
    "counts",
    "entries_for",
    "for_member",
    "get_for",
    "open_request",
    "parse_filters",
    "parse_new",
    "queue",
    "rate",
    "same_incident",
]
