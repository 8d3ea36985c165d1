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
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy import event

from webapp.extensions import db
from webapp.models import AuditEvent
from webapp.models import Member
from webapp.models import User
from webapp.models.member import utcnow

logger = logging.getLogger(__name__)

# The address of the client of the request at hand (None outside a request: CLI, poller).
client_address: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "vigie_client_address", default=None
)

DETAIL_TEXT_MAX = 500  # characters kept of each text value of ``detail``


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


@event.listens_for(AuditEvent, "before_update")
def _no_update(_mapper, _connection, target: AuditEvent) -> None:
    raise AppendOnlyError(f"audit line {target.id} cannot be changed")


@event.listens_for(AuditEvent, "before_delete")
def _no_delete(_mapper, _connection, target: AuditEvent) -> None:
    raise AppendOnlyError(f"audit line {target.id} cannot be deleted")
