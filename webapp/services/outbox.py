"""The outbox: every message Vigie sends, delivered at least once, never twice.

A message is a :class:`~webapp.models.alerts.Delivery` row added by :func:`enqueue`
in the caller's transaction (the decision to notify and the message commit
together). The worker (:func:`deliver_due`, run by ``flask vigie notify`` or the
embedded thread) claims due rows, hands each to its channel and records the
outcome: sent, retried with exponential backoff, or failed with a reason.

Claiming uses ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers
share the load without taking the same row; SQLite has one writer at a time and
ignores the clause. A claimed row carries a lease (``locked_until``): a worker killed
in the middle of a send leaves it ``sending``, and when the lease ends another worker
sends it again — with the same idempotency key, which the channels pass on as the
e-mail's ``Message-ID`` and the push's ``Topic`` and tag, so the copy collapses into
the first. SMS has no such key: an interrupted SMS is reported, not sent twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from webapp.channels.base import Channel
from webapp.channels.base import ChannelName
from webapp.channels.base import Outcome
from webapp.channels.base import Outgoing
from webapp.channels.base import Recipient
from webapp.channels.base import SendResult
from webapp.extensions import db
from webapp.models import Delivery
from webapp.models import Incident
from webapp.models import PushSubscription
from webapp.models import User
from webapp.models.alerts import DeliveryStatus
from webapp.models.member import as_utc
from webapp.models.member import utcnow

logger = logging.getLogger(__name__)

BACKOFF_FIRST_S = 30.0
BACKOFF_MAX_S = 3600.0
INTERRUPTED = "Envoi interrompu (redémarrage du service) : non renvoyé pour éviter un doublon."


def enqueue(
    *,
    key: str,
    user: User,
    channel: str,
    kind: str,
    subject: str,
    body: str,
    data: dict[str, Any] | None = None,
    incident: Incident | None = None,
    hold_until: datetime | None = None,
    fresh: bool = False,
) -> Delivery | None:
    """Add a message to the outbox in the current transaction (the caller commits).

    Returns ``None`` when a message with this ``key`` exists already: deciding twice
    sends once. ``hold_until``: quiet hours, the message waits (``held``) for the digest.
    ``fresh``: the caller's own transaction makes the key new (an incident it has just
    locked and marked told): no look-up, no savepoint; should another worker have
    decided the same meanwhile, the unique key fails the caller's commit instead.
    """
    if not fresh and db.session.scalar(select(Delivery.id).where(Delivery.key == key)):
        return None
    delivery = Delivery(
        key=key,
        user=user,
        channel=channel,
        kind=kind,
        subject=subject[:255],
        body=body,
        data=data or {},
        incident=incident,
        status=DeliveryStatus.HELD if hold_until else DeliveryStatus.QUEUED,
        hold_until=hold_until,
        next_attempt_at=utcnow(),
    )
    if fresh:
        db.session.add(delivery)
        return delivery
    try:
        with db.session.begin_nested():  # a concurrent decision with the same key
            db.session.add(delivery)
    except IntegrityError:
        return None
    return delivery


def backoff_s(attempts: int) -> float:
    """30 s, 1 min, 2 min… at most an hour, after the ``attempts``-th failure."""
    return min(BACKOFF_FIRST_S * 2 ** max(0, attempts - 1), BACKOFF_MAX_S)


def claim(limit: int = 50, now: datetime | None = None, worker: str = "") -> list[Delivery]:
    """Take up to ``limit`` due messages for ``worker`` (committed: ``sending``)."""
    now = now or utcnow()
    lease = timedelta(seconds=float(current_app.config["NOTIFY_LEASE"]))
    rows = list(
        db.session.scalars(
            select(Delivery)
            .where(
                or_(
                    (Delivery.status == DeliveryStatus.QUEUED) & (Delivery.next_attempt_at <= now),
                    (Delivery.status == DeliveryStatus.SENDING) & (Delivery.locked_until < now),
                )
            )
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    claimed = []
    for row in rows:
        if row.status == DeliveryStatus.SENDING:  # its worker died during the send
            if not _resend_after_interruption(row.channel):
                row.status = DeliveryStatus.FAILED
                row.last_error = INTERRUPTED
                row.locked_until = None
                continue
            logger.info("Delivery %s interrupted by a restart: sent again", row.key)
        row.status = DeliveryStatus.SENDING
        row.locked_until = now + lease
        row.locked_by = worker
        claimed.append(row)
    db.session.commit()
    return claimed


def take(row: Delivery, worker: str) -> bool:
    """Renew ``worker``'s lease on ``row`` just before its send; False if it was lost.

    A batch may take longer than a lease: another worker then reclaims the rest as
    interrupted. Each send first renews its own row, and only if this worker still
    holds it — so a message is never handed by two workers. While more than half of
    the lease is left, no other worker can have it: nothing to write (the attempt is
    counted with the outcome).
    """
    lease = timedelta(seconds=float(current_app.config["NOTIFY_LEASE"]))
    now = utcnow()
    if (
        row.locked_by == worker
        and row.locked_until is not None
        and as_utc(row.locked_until) - now > lease / 2
    ):
        row.attempts += 1
        return True
    done = db.session.execute(
        update(Delivery)
        .where(
            Delivery.id == row.id,
            Delivery.status == DeliveryStatus.SENDING,
            Delivery.locked_by == worker,
            Delivery.locked_until > now,
        )
        .values(locked_until=now + lease, attempts=Delivery.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if done.rowcount != 1:
        return False
    db.session.refresh(row)
    return True


_CHANNELS_RESENT = {ChannelName.EMAIL, ChannelName.PUSH, ChannelName.PORTAL}


def _resend_after_interruption(channel: str) -> bool:
    return channel in _CHANNELS_RESENT


def outgoing(row: Delivery) -> Outgoing | None:
    """What the channel is given; ``None`` if the recipient's address is gone."""
    user = row.user
    data = dict(row.data or {})
    if row.channel == ChannelName.PUSH:
        subscription = db.session.get(PushSubscription, data.get("subscription_id"))
        if subscription is None or subscription.user_id != user.id:
            return None
        data["push"] = {
            "endpoint": subscription.endpoint,
            "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
        }
    phone = user.phone if user.phone_confirmed_at else None
    return Outgoing(
        id=row.id,
        key=row.key,
        channel=row.channel,
        kind=row.kind,
        recipient=Recipient(user.id, user.name, user.email, phone, user.locale),
        subject=row.subject,
        body=row.body,
        data=data,
    )


def record(row: Delivery, result: SendResult, now: datetime | None = None) -> None:
    """Write a channel's answer on the row (the caller commits)."""
    now = now or utcnow()
    row.locked_until = None
    row.locked_by = None
    row.provider = result.provider or row.provider
    if result.outcome == Outcome.SENT:
        row.status = DeliveryStatus.SENT
        row.sent_at = now
        row.last_error = None
        if row.channel == ChannelName.PUSH:
            subscription = db.session.get(PushSubscription, row.data.get("subscription_id"))
            if subscription is not None:
                subscription.last_success_at = now
        return
    row.last_error = (result.error or "")[:500]
    max_attempts = int(current_app.config["NOTIFY_MAX_ATTEMPTS"])
    if result.outcome == Outcome.RETRY and row.attempts < max_attempts:
        row.status = DeliveryStatus.QUEUED
        delay = max(result.retry_after_s or 0.0, backoff_s(row.attempts))
        row.next_attempt_at = now + timedelta(seconds=delay)
        return
    row.status = DeliveryStatus.FAILED
    if result.outcome == Outcome.GONE and row.channel == ChannelName.PUSH:
        subscription = db.session.get(PushSubscription, row.data.get("subscription_id"))
        if subscription is not None:
            db.session.delete(subscription)  # 404/410: the browser dropped it


def deliver_due(channels: Mapping[str, Channel], limit: int = 50, worker: str | None = None) -> int:
    """Claim the due messages and send each through its channel; how many were handled."""
    worker = worker or uuid.uuid4().hex
    rows = claim(limit, worker=worker)
    handled = 0
    for row in rows:
        if not take(row, worker):
            continue  # its lease ran out and another worker has it now
        handled += 1
        channel = channels.get(row.channel)
        message = outgoing(row)
        if channel is None:
            result = SendResult.failed(f"Canal « {row.channel} » non configuré sur ce serveur.")
        elif message is None:
            result = SendResult.failed("Cet appareil ou cette adresse n'existe plus.")
        else:
            try:
                result = channel.send(message)
            except Exception as exc:  # noqa: BLE001 - a channel bug must not stop the worker
                logger.exception("Channel %s failed on %s", row.channel, row.key)
                result = SendResult.retry(f"Erreur interne du canal : {type(exc).__name__}")
        record(row, result)
        db.session.commit()
    return handled
