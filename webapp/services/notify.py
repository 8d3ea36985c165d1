"""The delivery worker: decide what is due, release digests, deliver the outbox.

``flask vigie notify`` runs it as its own process in production (several may run:
PostgreSQL's ``SKIP LOCKED`` keeps them off each other's messages); ``flask vigie
serve`` runs it as a background task when ``VIGIE_NOTIFY_WORKER=embedded``.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import datetime

from flask import Flask

from webapp.channels import registry
from webapp.channels.base import Channel
from webapp.extensions import db
from webapp.models.member import utcnow
from webapp.services import alerts
from webapp.services import audit
from webapp.services import history
from webapp.services import orders
from webapp.services import outbox
from webapp.services import sessions
from webapp.services import support

logger = logging.getLogger(__name__)


@dataclass
class RoundStats:
    decided: int = 0
    digests: int = 0
    delivered: int = 0


def run_round(
    channels: Mapping[str, Channel], limit: int = 50, worker: str | None = None
) -> RoundStats:
    """One round (inside an app context): decisions, digests, then a batch of deliveries."""
    stats = RoundStats()
    stats.decided = alerts.decide()
    stats.digests = alerts.release_held()
    stats.delivered = outbox.deliver_due(channels, limit=limit, worker=worker)
    return stats


class Worker:
    """Runs rounds until :meth:`stop`; a busy round is followed by another at once."""

    def __init__(self, app: Flask, channels: Mapping[str, Channel] | None = None) -> None:
        self.app = app
        self.channels = channels if channels is not None else registry.build(app.config)
        self._stop = threading.Event()
        self.rounds = 0
        self.id = uuid.uuid4().hex  # its claims carry it (outbox.take)
        self.audit_purged_on: date | None = None
        self.sessions_purged_on: date | None = None
        self.history_purged_on: date | None = None
        self.orders_checked_at: tuple[date, int] | None = None
        self.requests_checked_at: tuple[date, int] | None = None

    def run(self, interval: float | None = None) -> None:
        interval = interval or float(self.app.config["NOTIFY_INTERVAL"])
        logger.info("Delivery worker started (channels: %s)", ", ".join(sorted(self.channels)))
        while not self._stop.is_set():
            busy = False
            with self.app.app_context():
                try:
                    stats = run_round(self.channels, worker=self.id)
                    busy = stats.delivered > 0
                    self.purge_audit_daily()
                    self.purge_sessions_daily()
                    self.purge_history_daily()
                    self.activate_orders_hourly()
                    self.close_resolved_requests_hourly()
                except Exception:  # noqa: BLE001 - the loop must survive anything
                    logger.exception("Delivery round failed")
                    db.session.rollback()
                finally:
                    db.session.remove()
            self.rounds += 1
            if not busy:
                self._stop.wait(interval)
        logger.info("Delivery worker stopped")

    def purge_audit_daily(self, now: datetime | None = None) -> int | None:
        """The audit log's retention, at most once a (UTC) day per worker: one indexed DELETE.

        Returns the lines removed, or ``None`` when this worker has already purged today.
        """
        now = now or utcnow()
        if self.audit_purged_on == now.date():
            return None
        days = int(self.app.config["AUDIT_RETENTION_DAYS"])
        if days < 1:
            logger.warning("VIGIE_AUDIT_RETENTION_DAYS=%d: the audit log is not purged", days)
            removed = None
        else:
            removed = audit.purge(days, now=now)  # a failure: tried again next round
        self.audit_purged_on = now.date()
        return removed

    def purge_sessions_daily(self, now: datetime | None = None) -> int | None:
        """Delete ended signed-in sessions, at most once a (UTC) day per worker.

        Returns the sessions removed, or ``None`` when this worker has already purged today.
        """
        now = now or utcnow()
        if self.sessions_purged_on == now.date():
            return None
        removed = sessions.purge_expired(now)  # a failure: tried again next round
        self.sessions_purged_on = now.date()
        return removed

    def purge_history_daily(self, now: datetime | None = None) -> int | None:
        """Forget incidents ended more than ``VIGIE_HISTORY_DAYS`` ago; once a (UTC) day.

        Returns the incidents removed, or ``None`` when this worker has already purged today.
        """
        now = now or utcnow()
        if self.history_purged_on == now.date():
            return None
        days = int(self.app.config["HISTORY_DAYS"])
        if days < 1:
            logger.warning("VIGIE_HISTORY_DAYS=%d: the incident history is not purged", days)
            removed = None
        else:
            removed = history.purge(days, now=now)  # a failure: tried again next round
        self.history_purged_on = now.date()
        return removed

    def activate_orders_hourly(self, now: datetime | None = None) -> int | None:
        """Put approved reductions in force once their 1 January has come; once an hour.

        Returns the orders put in force, or ``None`` when this worker checked this hour.
        Several workers may run it at once: each order is put in force once
        (:func:`webapp.services.orders.activate_due`).
        """
        now = now or utcnow()
        hour = (now.date(), now.hour)
        if self.orders_checked_at == hour:
            return None
        count = orders.activate_due(now)
        self.orders_checked_at = hour
        if count:
            logger.info("%d pool orders put in force", count)
        return count

    def close_resolved_requests_hourly(self, now: datetime | None = None) -> int | None:
        """Close the support requests resolved longer ago than the reopening delay; hourly.

        Returns how many were closed, or ``None`` when this worker checked this hour. A
        request reopened meanwhile by its member stays open (its version moved on).
        """
        now = now or utcnow()
        hour = (now.date(), now.hour)
        if self.requests_checked_at == hour:
            return None
        count = support.close_resolved(now)
        self.requests_checked_at = hour
        if count:
            logger.info("%d resolved support requests closed after the reopening delay", count)
        return count

    def stop(self) -> None:
        self._stop.set()
