"""The support wall: one tile per member, worst first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

from sqlalchemy import select

from topology.model import MemberState
from topology.model import Severity
from webapp.extensions import db
from webapp.live.monitor import get_monitor
from webapp.live.status import MemberStatus
from webapp.live.status import member_status
from webapp.models import Member
from webapp.models import SupportRequest
from webapp.models.choices import SUPPORT_OPEN_STATUSES
from webapp.models.choices import SupportStatus
from webapp.models.member import as_utc
from webapp.services import overview
from webapp.services.errors import MemberNotFound

# Worst first: what needs eyes comes to the top-left of the wall.
STATE_RANK = {
    MemberState.PROBLEM: 0,
    MemberState.WARNING: 1,
    MemberState.UNKNOWN: 2,
    MemberState.OK: 3,
}


def _support_parts(member_ids: list[int] | None = None) -> dict[int, dict]:
    """The portal's part of tiles: open requests, when each is due, since when support is on it.

    ``due``: the instants (ISO, UTC) at which open requests not waiting for the member fall
    overdue (first response, else resolution): the wall counts those already past on its
    own clock, so a request falling overdue shows without any event. ``care_since``: the
    earliest first response among open requests (support is on it), else None.
    """
    query = select(SupportRequest).where(SupportRequest.status.in_(SUPPORT_OPEN_STATUSES))
    if member_ids is not None:
        query = query.where(SupportRequest.member_id.in_(member_ids))
    parts: dict[int, dict] = {}
    for row in db.session.execute(query).scalars():
        part = parts.setdefault(row.member_id, {"open_requests": 0, "due": [], "care_since": None})
        part["open_requests"] += 1
        if row.status != SupportStatus.WAITING_MEMBER:
            due = row.response_due_at if row.first_response_at is None else row.resolution_due_at
            if due is not None:
                part["due"].append(as_utc(due).isoformat())
        if row.first_response_at is not None:
            since = as_utc(row.first_response_at).isoformat()
            if part["care_since"] is None or since < part["care_since"]:
                part["care_since"] = since
    for part in parts.values():
        part["due"].sort()
    return parts


def _empty_support_part() -> dict:
    return {"open_requests": 0, "due": [], "care_since": None}


def tile_data(member, status: MemberStatus | None, support: dict | None = None) -> dict:
    """The JSON-able data of one member's tile (without the portal's part when None).

    The poller sends tiles without it (it reads no portal table): ``wall.update`` tiles
    may be partial, and a wall keeps what a tile does not carry.
    """
    tile = _tile_state(member, status)
    if support is not None:
        tile.update(support)
    return tile


def open_requests_tile(member: Member) -> dict:
    """The part of a member's tile that the portal owns: its open support requests."""
    part = _support_parts([member.id]).get(member.id) or _empty_support_part()
    return {"slug": member.slug, **part}


def _tile_state(member, status: MemberStatus | None) -> dict:
    if status is None:
        return {
            "slug": member.slug,
            "name": member.name,
            "overall": "unknown",
            "incidents": 0,
            "since": None,
            "severity": None,
            "unacked_high": [],
            "rank": STATE_RANK[MemberState.UNKNOWN],
        }
    summary = status.summary
    incidents = summary.incidents
    unacked = sorted(
        p.eventid
        for incident in status.member_map.incidents
        for p in incident.problems
        if p.severity >= Severity.HIGH and not p.acknowledged
    )
    return {
        "slug": member.slug,
        "name": member.name,
        "overall": str(summary.overall),
        "incidents": len(incidents),
        "since": min((i.since for i in incidents), default=None)
        and min(i.since for i in incidents).isoformat(),
        "severity": int(summary.worst_severity) if summary.worst_severity is not None else None,
        "unacked_high": unacked,
        "rank": STATE_RANK.get(summary.overall, 2),
    }


def sort_tiles(tiles: list[dict]) -> list[dict]:
    """Worst state first, then highest severity, then oldest incident, then name."""
    return sorted(
        tiles,
        key=lambda t: (t["rank"], -(t["severity"] or -1), t["since"] or "9999", t["name"]),
    )


@dataclass(frozen=True)
class WallState:
    """Every member's tile, worst first, and when the data they show was read."""

    tiles: list[dict]
    generated_at: datetime | None


def current_state() -> WallState:
    """The tiles of every member from the latest snapshot (pages, fragment and API)."""
    parts = _support_parts()
    members = db.session.execute(select(Member).order_by(Member.name)).scalars().all()
    monitor = get_monitor()
    snapshot = monitor.current()
    stale_after = overview.host_stale_after_s()
    tiles = []
    for member in members:
        status = None
        if snapshot is not None:
            status = member_status(member, snapshot, stale_after_s=stale_after)
        tiles.append(tile_data(member, status, parts.get(member.id) or _empty_support_part()))
    # The last read that succeeded (a read finding nothing new keeps the older snapshot).
    read_at = None
    if snapshot is not None:
        read_at = snapshot.read_at
        if monitor.last_success is not None:
            read_at = max(read_at, datetime.fromtimestamp(monitor.last_success, UTC))
    return WallState(tiles=sort_tiles(tiles), generated_at=read_at)


def member_by_slug(slug: str) -> Member:
    """Any member (the wall is for staff and kiosk links), or :class:`MemberNotFound`."""
    member = db.session.execute(select(Member).where(Member.slug == slug)).scalar_one_or_none()
    if member is None:
        raise MemberNotFound(slug)
    return member
