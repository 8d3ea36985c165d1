"""Support requests as the JSON API gives them: the request, its thread, its clocks.

A member's answer never carries an internal entry (notes, assignments) nor an internal
attachment: the thread is read through :func:`webapp.services.support.entries_for`, and
attachments are filtered once more here. Texts are returned as typed (JSON strings);
escaping them is the pages' job. Times are ISO 8601 with their UTC offset.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from webapp.models import SupportAttachment
from webapp.models import SupportEntry
from webapp.models import SupportRequest
from webapp.models import User
from webapp.models.choices import SupportStatus
from webapp.models.member import as_utc
from webapp.models.member import utcnow
from webapp.services import paging
from webapp.services import support


def _iso(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment is not None else None


def _seconds(start: datetime | None, end: datetime | None, minus: int = 0) -> int | None:
    if start is None or end is None:
        return None
    return max(0, int((as_utc(end) - as_utc(start)).total_seconds()) - minus)


def person_json(user: User | None) -> dict | None:
    """Who wrote or holds something: never an e-mail address (``None``: a deleted account)."""
    if user is None:
        return None
    return {"id": user.id, "name": user.name, "staff": user.is_staff}


def allowed_statuses(request: SupportRequest, user: User, now: datetime | None = None) -> list[str]:
    """The statuses ``user`` may move ``request`` to now (see ``support.TRANSITIONS``)."""
    side = support.side_of(user, request.member)
    allowed = [
        str(to)
        for (before, to), sides in support.TRANSITIONS.items()
        if before == request.status and side in sides
    ]
    reopening = (
        request.status == SupportStatus.RESOLVED
        and side == support.MEMBER_ADMIN
        and SupportStatus.IN_PROGRESS in allowed
    )
    if reopening:
        resolved_at = as_utc(request.resolved_at) if request.resolved_at else None
        if resolved_at is None or (now or utcnow()) - resolved_at > support.reopen_delay():
            allowed.remove(SupportStatus.IN_PROGRESS)
    return allowed


def attachment_json(attachment: SupportAttachment) -> dict:
    """One attached file's description (the file itself is never inlined)."""
    return {
        "id": attachment.id,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "internal": attachment.internal,
        "created_at": _iso(attachment.created_at),
    }


def entry_json(entry: SupportEntry, user: User) -> dict:
    """One line of the thread as ``user`` reads it: a member never gets an internal file.

    The entry itself must be one ``user`` may read (``support.entries_for``).
    """
    staff = user.is_staff
    return {
        "id": entry.id,
        "kind": entry.kind,
        "internal": entry.internal,
        "author": person_json(entry.author),
        "body": entry.body,
        "detail": dict(entry.detail or {}),
        "created_at": _iso(entry.created_at),
        "attachments": [attachment_json(a) for a in entry.attachments if staff or not a.internal],
    }


def request_json(
    request: SupportRequest, user: User, *, thread: bool = False, now: datetime | None = None
) -> dict[str, Any]:
    """A request as ``user`` may read it; ``thread``: with its context and entries."""
    now = now or utcnow()
    body: dict[str, Any] = {
        "id": request.id,
        "member": request.member.slug,
        "member_name": request.member.name,
        "subject": request.subject,
        "message": request.message,
        "category": request.category,
        "category_label": support.category_label(request.category),
        "urgency": request.urgency,
        "channel": request.channel,
        "contact": request.contact,
        "status": request.status,
        "hostid": request.hostid,
        "host_label": request.host_label,
        "author": person_json(request.author),
        "assignee": person_json(request.assignee),
        "resolution": request.resolution,
        "rating": request.rating,
        "rating_comment": request.rating_comment,
        "rated_at": _iso(request.rated_at),
        "created_at": _iso(request.created_at),
        "updated_at": _iso(request.updated_at),
        "first_response_at": _iso(request.first_response_at),
        "response_due_at": _iso(request.response_due_at),
        "resolution_due_at": _iso(request.resolution_due_at),
        "waiting_since": _iso(request.waiting_since),
        "resolved_at": _iso(request.resolved_at),
        "closed_at": _iso(request.closed_at),
        "response_seconds": _seconds(request.created_at, request.first_response_at),
        "resolution_seconds": _seconds(
            request.created_at, request.resolved_at, request.waiting_seconds or 0
        ),
        "waiting_seconds": request.waiting_seconds or 0,
        "reopened_count": request.reopened_count or 0,
        "overdue": support.is_overdue(request, now),
        "allowed_statuses": allowed_statuses(request, user, now),
        "version": request.version,
    }
    if thread:
        body["context"] = dict(request.context or {})
        body["entries"] = [entry_json(e, user) for e in support.entries_for(request, user)]
    return body


def page_json(page: paging.Page, user: User, now: datetime | None = None) -> dict[str, Any]:
    """One page of requests (without their threads) and where it stands."""
    now = now or utcnow()
    return {
        "requests": [request_json(r, user, now=now) for r in page.items],
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
    }
