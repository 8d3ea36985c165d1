"""Tell people about something that is not an alert (an order, a quota): portal + e-mail.

Each notice goes through the outbox (:mod:`webapp.services.outbox`) in the caller's
transaction, as the notification centre's entry and as an e-mail, with a key that
makes telling twice tell once.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app
from sqlalchemy import select

from webapp.channels.base import ChannelName
from webapp.extensions import db
from webapp.models import Member
from webapp.models import Membership
from webapp.models import User
from webapp.models.choices import MemberRole
from webapp.models.choices import StaffRole
from webapp.services import outbox

CHANNELS = (ChannelName.PORTAL, ChannelName.EMAIL)


def member_admins(member: Member) -> list[User]:
    """The active administrators of ``member``."""
    return list(
        db.session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.member_id == member.id,
                Membership.role == MemberRole.MEMBER_ADMIN,
                User.active.is_(True),
            )
            .order_by(User.id)
        )
    )


def syndicate_admins() -> list[User]:
    """The active administrators of the syndicate."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.staff_role == StaffRole.ADMIN, User.active.is_(True))
            .order_by(User.id)
        )
    )


def tell(
    users: Iterable[User],
    *,
    key: str,
    kind: str,
    subject: str,
    body: str,
    path: str | None = None,
    link_label: str | None = None,
    channels: Iterable[str] = CHANNELS,
) -> int:
    """Queue ``subject``/``body`` for each user, on the portal and by e-mail (caller commits).

    ``key`` names the event (``order-12-approved``): with the user and the channel it
    makes the outbox key, so the same event is told once. ``path``: the portal page it
    leads to. Returns how many messages were queued.
    """
    base = str(current_app.config.get("BASE_URL") or "").rstrip("/")
    data = {"url": f"{base}{path}"} if path else {}
    if link_label:
        data["link_label"] = link_label
    queued = 0
    seen: set[int] = set()
    for user in users:
        if user.id in seen:
            continue
        seen.add(user.id)
        for channel in channels:
            row = outbox.enqueue(
                key=f"{key}:{channel}:{user.id}",
                user=user,
                channel=channel,
                kind=kind,
                subject=subject,
                body=body,
                data=dict(data),
            )
            queued += row is not None
    return queued
