"""Support requests sent by members to the syndicate's IT support."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from webapp.extensions import db
from webapp.models.choices import SUPPORT_OPEN_STATUSES
from webapp.models.choices import SupportChannel
from webapp.models.choices import SupportEntryKind
from webapp.models.choices import SupportStatus
from webapp.models.choices import SupportUrgency
from webapp.models.member import Member
from webapp.models.member import utcnow
from webapp.models.user import User


class SupportRequest(db.Model):
    """A member's request to the syndicate's IT support, and its conversation.

    ``context`` is what the member's map said when the request was opened from a node
    (the host, its open problems, its events of the last 24 hours), kept as it was.
    ``incident_root`` is the root cause's host at creation: two requests about one
    incident share it. Due dates are set from the urgency's targets
    (``SUPPORT_TARGETS``); time spent waiting for the member moves the resolution due
    date on by as much (``waiting_seconds``), so it never counts against support.
    ``version`` makes two agents' changes at once fail loudly instead of one being lost.
    """

    __tablename__ = "support_request"
    __table_args__ = (
        Index("ix_support_request_member_created", "member_id", "created_at"),
        Index("ix_support_request_status_updated", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    hostid: Mapped[str | None] = mapped_column(String(32))
    host_label: Mapped[str | None] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(160))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=SupportStatus.NEW, index=True)
    category: Mapped[str] = mapped_column(String(32), default="question")
    urgency: Mapped[str] = mapped_column(String(12), default=SupportUrgency.NORMAL)
    channel: Mapped[str] = mapped_column(String(12), default=SupportChannel.PORTAL)
    contact: Mapped[str | None] = mapped_column(String(160))  # who called, for a phone request
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    incident_root: Mapped[str | None] = mapped_column(String(32))
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    resolution: Mapped[str | None] = mapped_column(Text)  # what was done, told to the member
    rating: Mapped[str | None] = mapped_column(String(16))  # satisfied | unsatisfied
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_response_at: Mapped[datetime | None]
    response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    waiting_since: Mapped[datetime | None]
    waiting_seconds: Mapped[int] = mapped_column(default=0)
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    reopened_count: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)

    member: Mapped[Member] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    entries: Mapped[list[SupportEntry]] = relationship(
        back_populates="request",
        order_by="SupportEntry.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        return self.status in SUPPORT_OPEN_STATUSES


class SupportEntry(db.Model):
    """One line of a request's thread: a comment, an internal note, a change.

    ``internal`` entries are the syndicate staff's: never in a member's page, API
    answer, e-mail or push. ``detail`` carries a change's before/after values.
    """

    __tablename__ = "support_entry"
    __table_args__ = (Index("ix_support_entry_request", "request_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("support_request.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(16), default=SupportEntryKind.COMMENT)
    internal: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[SupportRequest] = relationship(back_populates="entries")
    author: Mapped[User | None] = relationship()
    attachments: Mapped[list[SupportAttachment]] = relationship(
        back_populates="entry", order_by="SupportAttachment.id"
    )


class SupportAttachment(db.Model):
    """A photo or PDF sent with a request; the file lives outside the static folder.

    ``storage_key`` names the file under ``SUPPORT_ATTACHMENTS_DIR``; ``content_type``
    was decided from the content (images are re-encoded, so their EXIF is gone).
    """

    __tablename__ = "support_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("support_request.id", ondelete="CASCADE"), index=True
    )
    entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("support_entry.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(128), unique=True)
    internal: Mapped[bool] = mapped_column(default=False)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[SupportRequest] = relationship()
    entry: Mapped[SupportEntry | None] = relationship(back_populates="attachments")
    uploaded_by: Mapped[User | None] = relationship()


class KioskLink(db.Model):
    """A revocable link that opens the wall screen on a TV without a password."""

    __tablename__ = "kiosk_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
