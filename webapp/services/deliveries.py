"""What the outbox tells people: their delivery log, the portal's notification centre,
and the syndicate's delivery health.

Every message Vigie sends is a :class:`~webapp.models.alerts.Delivery` row; this module
only reads them (and marks the portal ones read). The notification centre lists a
person's ``portal`` messages once the worker has delivered them (``sent``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from webapp.channels.base import ChannelName
from webapp.extensions import db
from webapp.models import Delivery
from webapp.models import User
from webapp.models.alerts import DeliveryStatus
from webapp.models.member import as_utc
from webapp.models.member import utcnow
from webapp.services.errors import NotFound
from webapp.services.paging import Page
from webapp.services.paging import page_of

logger = logging.getLogger(__name__)

PER_PAGE_MAX = 100
CHANNELS = (ChannelName.EMAIL, ChannelName.PUSH, ChannelName.SMS, ChannelName.PORTAL)
HEALTH_STATUSES = (
    DeliveryStatus.SENT,
    DeliveryStatus.FAILED,
    DeliveryStatus.QUEUED,
    DeliveryStatus.HELD,
)


def _page(query, page: int, per_page: int) -> Page:
    order = (Delivery.created_at.desc(), Delivery.id.desc())
    return page_of(query, order, page, per_page, PER_PAGE_MAX)


# ---- a person's delivery log ------------------------------------------------------------


def log_page(user: User, page: int = 1, per_page: int = 20, channel: str | None = None) -> Page:
    """The messages sent (or to be sent) to ``user``, newest first."""
    query = select(Delivery).where(Delivery.user_id == user.id)
    if channel is not None:
        query = query.where(Delivery.channel == channel)
    return _page(query, page, per_page)


def recent_by_channel(user: User, per_channel: int = 5) -> dict[str, list[Delivery]]:
    """The last ``per_channel`` messages of each channel that has some."""
    out: dict[str, list[Delivery]] = {}
    for channel in CHANNELS:
        rows = db.session.scalars(
            select(Delivery)
            .where(Delivery.user_id == user.id, Delivery.channel == channel)
            .order_by(Delivery.created_at.desc(), Delivery.id.desc())
            .limit(per_channel)
        ).all()
        if rows:
            out[channel] = list(rows)
    return out


# ---- the notification centre ----------------------------------------------------------------


def _inbox(user_id: int):
    return select(Delivery).where(
        Delivery.user_id == user_id,
        Delivery.channel == ChannelName.PORTAL,
        Delivery.status == DeliveryStatus.SENT,
    )


def unread_count(user_id: int) -> int:
    """How many delivered portal notifications ``user_id`` has not read (one COUNT)."""
    query = select(func.count(Delivery.id)).where(
        Delivery.user_id == user_id,
        Delivery.channel == ChannelName.PORTAL,
        Delivery.status == DeliveryStatus.SENT,
        Delivery.read_at.is_(None),
    )
    return int(db.session.scalar(query) or 0)


def notifications(user: User, page: int = 1, per_page: int = 20) -> Page:
    """``user``'s delivered portal notifications, newest first."""
    return _page(_inbox(user.id), page, per_page)


def mark_all_read(user: User, now: datetime | None = None) -> int:
    """Mark every unread notification of ``user`` read; how many. Commits."""
    result = db.session.execute(
        update(Delivery)
        .where(
            Delivery.user_id == user.id,
            Delivery.channel == ChannelName.PORTAL,
            Delivery.status == DeliveryStatus.SENT,
            Delivery.read_at.is_(None),
        )
        .values(read_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return int(result.rowcount or 0)


def open_notification(user: User, delivery_id: int, now: datetime | None = None) -> Delivery:
    """One of ``user``'s notifications, marked read (commits); :class:`NotFound` otherwise."""
    if not 0 < delivery_id < 2**63:  # beyond any row id (and any database integer)
        raise NotFound("notification")
    row = db.session.scalar(_inbox(user.id).where(Delivery.id == delivery_id))
    if row is None:
        raise NotFound("notification")
    if row.read_at is None:
        row.read_at = now or utcnow()
        db.session.commit()
    return row


# ---- delivery health (syndicate administrators) ---------------------------------------------


@dataclass(frozen=True)
class HealthRow:
    """Counts of one channel through one provider (``None``: not handed to one yet)."""

    channel: str
    provider: str | None
    counts: dict[str, int]


@dataclass(frozen=True)
class Health:
    since: dict[str, datetime]  # "day", "week" -> start of the window
    rows: dict[str, list[HealthRow]]  # "day", "week" -> rows
    failures: list[Delivery] = field(default_factory=list)
    oldest_queued: Delivery | None = None
    oldest_queued_age_s: float | None = None
    queued_total: int = 0


def health(now: datetime | None = None, failures: int = 10) -> Health:
    """Last 24 h and 7 days, by channel and provider; recent failures; the queue's age."""
    now = now or utcnow()
    windows = {"day": now - timedelta(hours=24), "week": now - timedelta(days=7)}
    rows: dict[str, list[HealthRow]] = {}
    for name, since in windows.items():
        counted = db.session.execute(
            select(Delivery.channel, Delivery.provider, Delivery.status, func.count(Delivery.id))
            .where(Delivery.created_at >= since, Delivery.status.in_(HEALTH_STATUSES))
            .group_by(Delivery.channel, Delivery.provider, Delivery.status)
        ).all()
        table: dict[tuple[str, str | None], dict[str, int]] = {}
        for channel, provider, status, count in counted:
            counts = table.setdefault((channel, provider), dict.fromkeys(HEALTH_STATUSES, 0))
            counts[status] = int(count)
        order = {c: i for i, c in enumerate(CHANNELS)}
        rows[name] = [
            HealthRow(channel, provider, {str(k): v for k, v in counts.items()})
            for (channel, provider), counts in sorted(
                table.items(), key=lambda item: (order.get(item[0][0], 9), item[0][1] or "")
            )
        ]
    recent = db.session.scalars(
        select(Delivery)
        .where(Delivery.status == DeliveryStatus.FAILED, Delivery.created_at >= windows["week"])
        .order_by(Delivery.created_at.desc(), Delivery.id.desc())
        .limit(failures)
    ).all()
    oldest = db.session.scalar(
        select(Delivery)
        .where(Delivery.status == DeliveryStatus.QUEUED)
        .order_by(Delivery.created_at, Delivery.id)
        .limit(1)
    )
    queued = db.session.scalar(
        select(func.count(Delivery.id)).where(Delivery.status == DeliveryStatus.QUEUED)
    )
    age = (now - as_utc(oldest.created_at)).total_seconds() if oldest is not None else None
    return Health(
        since=windows,
        rows=rows,
        failures=list(recent),
        oldest_queued=oldest,
        oldest_queued_age_s=max(0.0, age) if age is not None else None,
        queued_total=int(queued or 0),
    )
