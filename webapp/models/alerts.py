"""Alerts: each user's rules, their devices, the incidents told and the outbox.

The outbox (:class:`Delivery`) holds every message Vigie sends, whatever the
channel; a row is written in the same transaction as the decision to send it, and
its ``key`` (incident, state, channel, recipient) is unique: deciding twice, retrying
or restarting never makes a second message.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from webapp.extensions import db
from webapp.models.member import Member
from webapp.models.member import utcnow
from webapp.models.user import User


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for the worker (or for its next attempt)
    HELD = "held"  # quiet hours: goes into the digest when they end
    SENDING = "sending"  # claimed by a worker (``locked_until``)
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # not sent, on purpose (gathered in a digest, muted…)


class IncidentState(enum.StrEnum):
    PENDING = "pending"  # seen, within the alert delay: nothing told yet
    OPEN = "open"  # told
    RESOLVED = "resolved"  # told, then repaired (recovery told)
    CANCELLED = "cancelled"  # repaired within the delay: nothing told, ever


class AlertRule(db.Model):
    """What one user wants to be told, or (``member_id``) a member's defaults for its users.

    Empty ``member_ids`` / ``sites``: all the members (sites) the user can see.
    ``quiet_start``/``quiet_end``: « 22:00 » – « 07:00 » in the syndicate's time zone.
    """

    __tablename__ = "alert_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), unique=True
    )
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), unique=True
    )
    channels: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["email"])
    min_severity: Mapped[int] = mapped_column(default=4)  # Haute
    member_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    sites: Mapped[list[str]] = mapped_column(JSON, default=list)
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    quiet_except_disasters: Mapped[bool] = mapped_column(default=True)
    recoveries: Mapped[bool] = mapped_column(default=True)
    muted_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User | None] = relationship()
    member: Mapped[Member | None] = relationship()


class PushSubscription(db.Model):
    """One browser or phone that accepted notifications (``PushSubscription.toJSON()``)."""

    __tablename__ = "push_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    endpoint: Mapped[str] = mapped_column(Text, unique=True)
    p256dh: Mapped[str] = mapped_column(String(128))
    auth: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_success_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class Incident(db.Model):
    """One root cause at one member (a router down, and the devices behind it)."""

    __tablename__ = "alert_incident"
    __table_args__ = (Index("ix_alert_incident_member_state", "member_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(120))  # the cause: host id (or event id)
    hostid: Mapped[str | None] = mapped_column(String(32))
    cause: Mapped[str] = mapped_column(String(255))  # « Routeur mairie »
    site: Mapped[str | None] = mapped_column(String(120))
    severity: Mapped[int] = mapped_column(default=4)
    dependents: Mapped[int] = mapped_column(default=0)  # devices behind it, unreachable
    problem: Mapped[str] = mapped_column(String(255), default="")  # the Zabbix problem name
    down: Mapped[bool] = mapped_column(default=True)  # does not answer (not a lesser problem)
    role: Mapped[str] = mapped_column(String(20), default="")  # router, access, camera…
    state: Mapped[str] = mapped_column(String(12), default=IncidentState.PENDING)
    # Incidents of one member told together share the key of their message (its thread).
    group_key: Mapped[str | None] = mapped_column(String(60))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    told_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    recovery_told_at: Mapped[datetime | None]

    member: Mapped[Member] = relationship()


class MaintenanceNotice(db.Model):
    """A Zabbix maintenance of a member's hosts, told before, at its start and at its end."""

    __tablename__ = "maintenance_notice"
    __table_args__ = (Index("ix_maintenance_notice_member", "member_id", "maintenanceid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    maintenanceid: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    hosts: Mapped[int] = mapped_column(default=0)
    announced_at: Mapped[datetime | None]
    started_told_at: Mapped[datetime | None]
    ended_told_at: Mapped[datetime | None]

    member: Mapped[Member] = relationship()


class Delivery(db.Model):
    """One message to one person on one channel: the outbox and the delivery log."""

    __tablename__ = "delivery"
    __table_args__ = (
        Index("ix_delivery_due", "status", "next_attempt_at"),
        Index("ix_delivery_user", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # the idempotency key
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(20))  # problem, recovery, digest, maintenance…
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_incident.id", ondelete="SET NULL")
    )
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    hold_until: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(36))  # the worker holding it
    last_error: Mapped[str | None] = mapped_column(String(500))
    provider: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]  # the portal channel: read in the notification centre

    user: Mapped[User] = relationship()
    incident: Mapped[Incident | None] = relationship()
