"""Member organisations and the Zabbix host groups that hold their equipment."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from webapp.extensions import db
from webapp.models.choices import MemberKind


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A datetime read back from the database, aware (SQLite hands back naive UTC ones)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Member(db.Model):
    __tablename__ = "member"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(20), default=MemberKind.COMMUNE)
    siren: Mapped[str | None] = mapped_column(String(9))
    contact_name: Mapped[str | None] = mapped_column(String(120))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    host_groups: Mapped[list[HostGroupLink]] = relationship(
        back_populates="member", cascade="all, delete-orphan", order_by="HostGroupLink.name"
    )
    memberships: Mapped[list[Membership]] = relationship(  # noqa: F821
        back_populates="member", cascade="all, delete-orphan"
    )
    subscription: Mapped[Subscription | None] = relationship(  # noqa: F821
        back_populates="member", cascade="all, delete-orphan", uselist=False
    )

    @property
    def group_names(self) -> list[str]:
        return [link.name for link in self.host_groups]

    def __repr__(self) -> str:
        return f"<Member {self.slug}>"


class HostGroupLink(db.Model):
    """A Zabbix host group assigned to a member (a group belongs to one member)."""

    __tablename__ = "member_host_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)

    member: Mapped[Member] = relationship(back_populates="host_groups")
