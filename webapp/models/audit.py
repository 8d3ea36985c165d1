"""The audit log: every order step, agreement, role, invitation, login, token and link."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from webapp.extensions import db
from webapp.models.member import Member
from webapp.models.member import utcnow
from webapp.models.user import User


class AuditEvent(db.Model):
    """One line of the audit log: who, when, what, from which address.

    Append-only through the application (see :mod:`webapp.services.audit`): the ORM
    refuses to change or delete a row; only the retention purge removes old ones.
    ``actor_label`` keeps the actor's e-mail as it was (the account may go).
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_at", "at"),
        Index("ix_audit_event_member_at", "member_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    actor_label: Mapped[str | None] = mapped_column(String(254))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    target: Mapped[str | None] = mapped_column(String(255))  # "order 12", "token 3"…
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))

    actor: Mapped[User | None] = relationship()
    member: Mapped[Member | None] = relationship()
