"""Existing accounts invited by a member administrator: the syndicate staff decide.

:func:`webapp.services.accounts.invite` leaves a pending
:class:`~webapp.models.MembershipRequest` when the address a member administrator typed
already has a Vigie account (the administrator is never told). Staff list them here and
approve (the access is added and only then is the account's owner told by e-mail) or
refuse (nothing is added, nobody is told). Each decision is an audit line; of two staff
members deciding the same request at once, one wins and the other is told it is decided.
"""

from __future__ import annotations

import logging
from datetime import UTC
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy import update

from webapp.extensions import db
from webapp.models import MembershipRequest
from webapp.models import User
from webapp.models.choices import AccessRequestStatus
from webapp.models.choices import AuditKind
from webapp.services import accounts
from webapp.services import audit
from webapp.services.errors import Conflict
from webapp.services.errors import NotFound
from webapp.services.errors import PermissionDenied

logger = logging.getLogger(__name__)

__all__ = ["approve", "pending", "pending_count", "refuse"]


def pending() -> list[MembershipRequest]:
    """The requests waiting for a decision, oldest first."""
    return list(
        db.session.scalars(
            select(MembershipRequest)
            .where(MembershipRequest.status == AccessRequestStatus.PENDING)
            .order_by(MembershipRequest.created_at, MembershipRequest.id)
        )
    )


def pending_count() -> int:
    return len(pending())


def _claim(request_id: int, actor: User, status: str) -> MembershipRequest:
    """Mark the pending request ``status`` (one writer wins) and return it."""
    row = db.session.get(MembershipRequest, request_id)
    if row is None:
        raise NotFound(request_id)
    if not actor.is_staff:
        raise PermissionDenied(actor.id)
    claimed = db.session.execute(
        update(MembershipRequest)
        .where(
            MembershipRequest.id == request_id,
            MembershipRequest.status == AccessRequestStatus.PENDING,
        )
        .values(status=status, decided_by_id=actor.id, decided_at=datetime.now(UTC))
    ).rowcount
    if not claimed:
        db.session.rollback()
        raise Conflict("already_decided", _("Cette demande d’accès a déjà été traitée."))
    db.session.refresh(row)
    return row


def approve(request_id: int, actor: User) -> MembershipRequest:
    """Open the access: the membership, two audit lines, then the owner's e-mail."""
    row = _claim(request_id, actor, AccessRequestStatus.APPROVED)
    user, member = row.user, row.member
    if user.is_staff:
        db.session.rollback()
        raise Conflict("staff_account", accounts.staff_account_message())
    audit.record(
        AuditKind.ACCESS_APPROVED,
        actor=actor,
        member=member,
        target=f"user {user.email}",
        detail={"role": row.role, "request": row.id},
    )
    if user.role_in(member) is None:
        accounts.give_access(member, user, row.role, actor)
    db.session.commit()
    logger.info("Access request %s approved: %s joins %s", row.id, user.email, member.slug)
    accounts.tell_access_opened(user, member)
    return row


def refuse(request_id: int, actor: User) -> MembershipRequest:
    """Refuse the access: nothing is added, the account's owner is not told."""
    row = _claim(request_id, actor, AccessRequestStatus.REFUSED)
    audit.record(
        AuditKind.ACCESS_REFUSED,
        actor=actor,
        member=row.member,
        target=f"user {row.user.email}",
        detail={"role": row.role, "request": row.id},
    )
    db.session.commit()
    logger.info("Access request %s refused", row.id)
    return row
