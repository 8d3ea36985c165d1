"""What happened: the incidents Vigie kept from the events it read, per device and per member.

The poller keeps one :class:`~webapp.models.alerts.Incident` per root cause
(:func:`webapp.services.alerts.observe`): opened when a device fails, resolved when it is
repaired, cancelled when the repair came within the alert delay (a short cut, told to
nobody but still part of the history). Those rows are the history: a device's own
failures, and the failures above it on its path that left it unreachable. They are kept
``VIGIE_HISTORY_DAYS`` (default 400) after their end, then purged by the delivery worker.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Incident
from webapp.models import Member
from webapp.models.alerts import IncidentState
from webapp.models.member import as_utc
from webapp.models.member import utcnow

logger = logging.getLogger(__name__)

ENDED = (IncidentState.RESOLVED, IncidentState.CANCELLED)
DEVICE_DAYS = 30  # a device's panel
MEMBER_DAYS = 7  # a member's home


@dataclass(frozen=True)
class Episode:
    """One failure in a device's or a member's history."""

    cause_hostid: str | None  # the device that failed
    cause: str  # its label then
    problem: str  # the source's problem name (support's detail)
    down: bool  # it did not answer (rather than a lesser problem)
    dependents: int  # devices left unreachable behind it
    site: str | None
    started_at: datetime
    ended_at: datetime
    brief: bool  # repaired within the alert delay (nobody was told)
    through: bool  # for a device's history: it was unreachable because of ``cause``

    @property
    def duration_s(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


def _episode(row: Incident, through: bool = False) -> Episode:
    return Episode(
        cause_hostid=row.hostid,
        cause=row.cause,
        problem=row.problem,
        down=row.down,
        dependents=row.dependents,
        site=row.site,
        started_at=as_utc(row.opened_at),
        ended_at=as_utc(row.resolved_at),
        brief=row.state == IncidentState.CANCELLED,
        through=through,
    )


def _since(member: Member, hostids: list[str] | None, since: datetime) -> list[Incident]:
    """Incidents ended since ``since``: what goes on now is the live summary's to tell.

    The poller records an incident just after it sends the update that shows it; an
    ongoing incident listed here could read « en cours » after its repair. Ended, it is
    history: true whenever it is read.
    """
    query = select(Incident).where(
        Incident.member_id == member.id,
        Incident.state.in_(ENDED),
        Incident.resolved_at >= since,
    )
    if hostids is not None:
        query = query.where(Incident.hostid.in_(hostids))
    order = (Incident.resolved_at.desc(), Incident.id.desc())
    return list(db.session.scalars(query.order_by(*order)))


def for_device(
    member: Member,
    hostid: str,
    above: list[str],
    now: datetime | None = None,
    days: int = DEVICE_DAYS,
) -> list[Episode]:
    """The device's failures and those of the devices ``above`` it ended within ``days``.

    ``above`` is its path towards the member's root in today's topology (parent first):
    a switch that failed left the camera below it unreachable. Newest first.
    """
    since = (now or utcnow()) - timedelta(days=days)
    rows = _since(member, [hostid, *above], since)
    return [_episode(row, through=row.hostid != hostid) for row in rows]


def for_member(
    member: Member, now: datetime | None = None, days: int = MEMBER_DAYS
) -> list[Episode]:
    """Every failure at the member that ended within the last ``days``; newest first."""
    since = (now or utcnow()) - timedelta(days=days)
    return [_episode(row) for row in _since(member, None, since)]


def purge(history_days: int, now: datetime | None = None) -> int:
    """Delete the incidents ended more than ``history_days`` ago; return how many. Commits.

    An incident still going on is never purged, however old (it is still true).
    """
    limit = (now or utcnow()) - timedelta(days=history_days)
    result = db.session.execute(
        delete(Incident)
        .where(Incident.state.in_(ENDED), Incident.resolved_at < limit)
        .execution_options(synchronize_session=False)  # the commit below expires them
    )
    db.session.commit()
    if result.rowcount:
        logger.info(
            "History: %d incidents ended over %d days ago purged", result.rowcount, history_days
        )
    return result.rowcount or 0
