"""Support requests: members ask, the syndicate's support answers and closes."""

from __future__ import annotations

import logging
from datetime import UTC
from datetime import datetime

from sqlalchemy import select

from webapp.extensions import db
from webapp.live import events
from webapp.models import Member
from webapp.models import SupportRequest
from webapp.models import User
from webapp.models.choices import AuditKind
from webapp.models.choices import SupportStatus
from webapp.services import audit
from webapp.services import overview
from webapp.services import wall
from webapp.services.errors import NotFound

logger = logging.getLogger(__name__)


def host_label(member: Member, hostid: str | None) -> str | None:
    """The label of one of the member's nodes, or ``None`` if it is not one of them."""
    if not hostid:
        return None
    status = overview.status_of(member)
    if status is None:
        return None
    for node in status.member_map.nodes:
        if node.id == hostid and node.id != status.member_map.root:
            return node.label
    return None


def create_request(
    member: Member, author: User, *, subject: str, message: str, hostid: str | None = None
) -> SupportRequest:
    label = host_label(member, hostid)
    request = SupportRequest(
        member=member,
        author=author,
        subject=subject.strip(),
        message=message.strip(),
        hostid=hostid if label else None,
        host_label=label,
    )
    db.session.add(request)
    db.session.commit()
    logger.info("Support request %s opened by %s for %s", request.id, author.email, member.slug)
    _publish_open_requests(member)
    return request


def for_member(member: Member) -> list[SupportRequest]:
    return list(
        db.session.execute(
            select(SupportRequest)
            .where(SupportRequest.member_id == member.id)
            .order_by(SupportRequest.created_at.desc())
        ).scalars()
    )


def queue(status: str = SupportStatus.OPEN) -> list[SupportRequest]:
    """The support queue, oldest first."""
    return list(
        db.session.execute(
            select(SupportRequest)
            .where(SupportRequest.status == status)
            .order_by(SupportRequest.created_at)
        ).scalars()
    )


def close(request_id: int, user: User) -> SupportRequest:
    request = db.session.get(SupportRequest, request_id)
    if request is None:
        raise NotFound(request_id)
    if request.status != SupportStatus.CLOSED:
        previous = request.status
        request.status = SupportStatus.CLOSED
        request.closed_at = datetime.now(UTC)
        audit.record(
            AuditKind.SUPPORT_STATUS,
            actor=user,
            member=request.member,
            target=f"support {request.id}",
            detail={"from": str(previous), "to": str(SupportStatus.CLOSED)},
        )
        db.session.commit()
        logger.info("Support request %s closed by %s", request_id, user.email)
        _publish_open_requests(request.member)
    return request


def _publish_open_requests(member: Member) -> None:
    """Tell open walls the member's new count (after the commit)."""
    events.publish("wall.update", {"tiles": [wall.open_requests_tile(member)]}, events.WALL_ROOM)
