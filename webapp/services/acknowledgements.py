"""Acknowledging problems in the source, on behalf of the syndicate's support."""

from __future__ import annotations

import logging

from webapp.live.monitor import get_monitor
from webapp.models import Member
from webapp.models import User
from webapp.services import overview
from webapp.services.errors import NotFound

logger = logging.getLogger(__name__)


def acknowledge(member: Member, eventid: str, user: User, message: str | None = None) -> str:
    """Acknowledge ``eventid`` if it is a current problem of ``member``; return its hostid."""
    status = overview.status_of(member)
    problem = None
    if status is not None:
        problem = next(
            (p for node in status.member_map.nodes for p in node.problems if p.eventid == eventid),
            None,
        )
        if problem is None:
            problem = next(
                (
                    p
                    for incident in status.member_map.incidents
                    for p in (*incident.problems, *incident.folded)
                    if p.eventid == eventid
                ),
                None,
            )
    if problem is None:
        raise NotFound(eventid)
    text = message or f"Pris en compte par {user.name} (Vigie)"
    monitor = get_monitor()
    monitor.source.acknowledge([eventid], text)
    logger.info("Problem %s of %s acknowledged by %s", eventid, member.slug, user.email)
    monitor.refresh(full=True)  # acknowledgements create no event: read everything
    return problem.hostid
