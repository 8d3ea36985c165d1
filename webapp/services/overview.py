"""A member's current status and the source's freshness, for pages, the API and sockets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

from flask import current_app

from webapp.live import diff
from webapp.live.monitor import get_monitor
from webapp.live.status import MemberStatus
from webapp.live.status import member_status
from webapp.models import Member


@dataclass(frozen=True)
class Freshness:
    """How old the data on screen is, and whether to say it is stale."""

    age_s: float | None
    stale: bool
    last_success: datetime | None
    error: str | None


def host_stale_after_s() -> float:
    return float(current_app.config["HOST_STALE_AFTER"])


def freshness() -> Freshness:
    monitor = get_monitor()
    monitor.current()
    last = monitor.last_success
    return Freshness(
        age_s=monitor.age_s(),
        stale=monitor.is_stale(int(current_app.config["STALE_AFTER_POLLS"])),
        last_success=datetime.fromtimestamp(last, UTC) if last else None,
        error=monitor.last_error,
    )


def status_of(member: Member) -> MemberStatus | None:
    snapshot = get_monitor().current()
    if snapshot is None:
        return None
    return member_status(member, snapshot, stale_after_s=host_stale_after_s())


# The poller sends the source's freshness at least this often: a page that hears nothing
# for two heartbeats knows the collector is gone and says its data is no longer fresh.
HEARTBEAT_S = 10.0


def source_state() -> dict:
    """Freshness of the source, as sent to live clients."""
    fresh = freshness()
    return {
        "source_ok": fresh.error is None,
        "source_age_s": round(fresh.age_s, 1) if fresh.age_s is not None else None,
        "last_success": fresh.last_success.isoformat() if fresh.last_success else None,
        "stale": fresh.stale,
        "poll_interval": float(current_app.config["POLL_INTERVAL"]),
        "heartbeat_s": HEARTBEAT_S,
        "stale_after_s": float(current_app.config["POLL_INTERVAL"])
        * int(current_app.config["STALE_AFTER_POLLS"]),
    }


def live_state(member: Member, client_version: str | None, *, nodes: bool = True) -> dict:
    """The member's current live state; node details only if the client is behind.

    ``nodes=False``: a page that shows no node (a member's card) only learns whether
    it is behind (``full``), without the nodes.
    """
    status = status_of(member)
    state = source_state()
    if status is None:
        return {**state, "version": None, "full": False, "nodes": []}
    views = diff.node_views(status)
    version = diff.version_of(views)
    if client_version == version:
        return {**state, "version": version, "full": False, "nodes": []}
    payload = diff.member_payload(
        member.slug, status, views, list(views.values()) if nodes else [], full=True
    )
    return {**state, **payload}
