"""The audit log: record who did what, when, from which address (append-only).

:func:`record` adds a line to the caller's transaction, so the line and the action it
tells are committed (or rolled back) together. The address comes from
:data:`client_address`, set once per request by the application (services never read
the request). Rows are never changed or deleted through the ORM; :func:`purge` (the
retention, ``VIGIE_AUDIT_RETENTION_DAYS``) deletes old ones with one SQL statement.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import Select
from sqlalchemy import delete
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from webapp.extensions import db
from webapp.models import AuditEvent
from webapp.models import Member
from webapp.models import User
from webapp.models.member import utcnow
from webapp.services.paging import Page
from webapp.services.paging import page_of

logger = logging.getLogger(__name__)

# The address of the client of the request at hand (None outside a request: CLI, poller).
client_address: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "vigie_client_address", default=None
)

DETAIL_TEXT_MAX = 500  # characters kept of each text value of ``detail``
PER_PAGE_MAX = 200
NEWEST_FIRST = (AuditEvent.at.desc(), AuditEvent.id.desc())


class AppendOnlyError(RuntimeError):
    """An audit line was about to be changed or deleted."""


def record(
    kind: str,
    *,
    actor: User | None = None,
    member: Member | None = None,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    actor_label: str | None = None,
    ip: str | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add one audit line to the current transaction (the caller commits)."""
    row = AuditEvent(
        at=at or utcnow(),
        kind=str(kind),
        actor_id=actor.id if actor is not None else None,
        actor_label=(actor.email if actor is not None else actor_label),
        member_id=member.id if member is not None else None,
        target=target[:255] if target else None,
        detail={k: _short(v) for k, v in (detail or {}).items()},
        ip=(ip or client_address.get() or None),
    )
    if row.actor_label:
        row.actor_label = row.actor_label[:254]
    db.session.add(row)
    return row


def member_of(user: User) -> Member | None:
    """The member a user's line is about: its only membership's member (staff: none)."""
    memberships = user.memberships
    return memberships[0].member if len(memberships) == 1 else None


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > DETAIL_TEXT_MAX:
        return value[: DETAIL_TEXT_MAX - 1] + "…"
    return value


def purge(retention_days: int, now: datetime | None = None) -> int:
    """Delete the lines older than ``retention_days``; return how many. Commits."""
    limit = (now or utcnow()) - timedelta(days=retention_days)
    result = db.session.execute(delete(AuditEvent).where(AuditEvent.at < limit))
    db.session.commit()
    if result.rowcount:
        logger.info(
            "Audit log: %d lines older than %d days purged", result.rowcount, retention_days
        )
    return result.rowcount or 0


# ---- reading the log -------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the journal is narrowed to; ``None`` is "any". Dates are aware datetimes."""

    member_id: int | None = None
    actor: str | None = None  # part of the actor's e-mail, in any case
    kind: str | None = None
    since: datetime | None = None  # included
    until: datetime | None = None  # excluded


def _query(filters: Filters) -> Select:
    query = select(AuditEvent)
    if filters.member_id is not None:
        query = query.where(AuditEvent.member_id == filters.member_id)
    if filters.actor:
        needle = filters.actor.strip().lower()
        query = query.where(func.lower(AuditEvent.actor_label).contains(needle, autoescape=True))
    if filters.kind:
        query = query.where(AuditEvent.kind == filters.kind)
    if filters.since is not None:
        query = query.where(AuditEvent.at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEvent.at < filters.until)
    return query


def search(filters: Filters, page: int = 1, per_page: int = 50) -> Page:
    """One page of the lines matching ``filters``, newest first (member loaded with them)."""
    query = _query(filters).options(joinedload(AuditEvent.member))
    return page_of(query, NEWEST_FIRST, page, per_page, PER_PAGE_MAX)


def lines(filters: Filters, batch: int = 500) -> Iterator[AuditEvent]:
    """Every line matching ``filters``, newest first, read ``batch`` rows at a time (export)."""
    yield from db.session.scalars(
        _query(filters)
        .options(joinedload(AuditEvent.member))
        .order_by(*NEWEST_FIRST)
        .execution_options(yield_per=batch)
    )


# ---- append-only ----------------------------------------------------------------------


@event.listens_for(AuditEvent, "before_update")
def _no_update(_mapper, _connection, target: AuditEvent) -> None:
    raise AppendOnlyError(f"audit line {target.id} cannot be changed")


@event.listens_for(AuditEvent, "before_delete")
def _no_delete(_mapper, _connection, target: AuditEvent) -> None:
    raise AppendOnlyError(f"audit line {target.id} cannot be deleted")
