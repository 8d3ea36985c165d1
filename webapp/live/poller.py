"""The poller: one batched read of the source per cycle, diffed, changes published.

One cycle reads *all* members with a bounded number of source calls (see
:func:`webapp.live.snapshot.read_snapshot`), computes each member's state
and publishes only what changed:

* ``member.update`` to the member's room: changed nodes, overall state, version;
* ``wall.update`` to the wall room: the tiles of members whose state changed (the
  monitoring side of a tile: its open support requests come from the portal, whose
  services publish them after they commit);
* ``source`` to everyone: the freshness of the data, when it changes and as a
  small heartbeat every ``HEARTBEAT_S`` seconds.

Embedded by default (a background task of the web process); in production
``flask vigie poll`` runs it as its own process and publishes through Redis.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from dataclasses import field

from flask import Flask
from sqlalchemy import select

from webapp.extensions import db
from webapp.live import diff
from webapp.live import events
from webapp.live.leader import LeaderLock
from webapp.live.monitor import get_monitor
from webapp.live.snapshot import Snapshot
from webapp.live.status import MemberStatus
from webapp.live.status import member_status
from webapp.models import Member
from webapp.services import overview
from webapp.services import wall as wall_service
from webapp.services.overview import HEARTBEAT_S

logger = logging.getLogger(__name__)

MEMBERS_REFRESH_S = 30.0


@dataclass
class CycleStats:
    """What one cycle did (benchmarks and logs read it)."""

    duration_s: float = 0.0
    api_calls: int = 0
    ok: bool = True
    members: int = 0
    changed_members: int = 0
    changed_nodes: int = 0
    events: list[tuple[str, str | None]] = field(default_factory=list)


@dataclass(frozen=True)
class _MemberRef:
    id: int
    slug: str
    name: str
    groups: tuple[str, ...]

    @property
    def group_names(self) -> list[str]:
        return list(self.groups)


def _member_inputs(ref: _MemberRef, snapshot: Snapshot, timed: tuple) -> tuple:
    """Everything a member's state and wall tile are computed from, comparable.

    The rows are the snapshot's own objects, so comparing with the previous cycle's
    mostly compares identities; ``timed`` holds the time-dependent verdicts (hosts
    gone silent, maintenance windows in effect) of the whole estate.
    """
    hosts = tuple(snapshot.hosts_of(list(ref.groups)))
    problems = tuple(p for h in hosts for p in snapshot.problems_by_host.get(h.hostid, ()))
    dependencies = tuple(d for h in hosts for d in snapshot.dependencies_by_host.get(h.hostid, ()))
    probes = sum(snapshot.probe_counts.get(group, 0) for group in ref.groups)
    return (ref, hosts, problems, dependencies, probes, timed)


# member id -> its new status; and (member id, maintenance, hosts covered) when they changed
Observer = Callable[[dict[int, MemberStatus], list[tuple] | None], None]


def _maintenances_of(refs: list[_MemberRef], snapshot: Snapshot) -> list[tuple]:
    """Each member's share of each maintenance (current or planned)."""
    out = []
    for maintenance in snapshot.maintenances:
        covered = set(maintenance.hostids)
        for ref in refs:
            hosts = sum(1 for h in snapshot.hosts_of(list(ref.groups)) if h.hostid in covered)
            if hosts:
                out.append((ref.id, maintenance, hosts))
    return out


class Poller:
    """Reads the source, diffs against the previous cycle, publishes changes."""

    def __init__(
        self,
        app: Flask,
        publish: Callable[[str, dict, str | None], None] | None = None,
        batch: Callable[[], AbstractContextManager[None]] | None = None,
        observe: Observer | None = None,
        meter: Callable[[list[_MemberRef], Snapshot], object] | None = None,
    ) -> None:
        self.app = app
        # The probe meter (webapp.services.meter.Recorder): after each successful cycle,
        # each member's probes used of the day are stored (a failure is logged, retried).
        self.meter = meter
        # Told, after a cycle, of the members whose state changed (the alerts); what it
        # could not take (a database error) is given again next cycle.
        self.observe = observe
        self._unobserved: dict[int, MemberStatus] = {}
        self._maintenances_seen: tuple | None = None
        self.publish = publish or events.publish
        self.batch = batch or contextlib.nullcontext  # sends a cycle's events together
        self.previous: dict[str, dict[str, diff.NodeView]] = {}
        self.previous_tiles: dict[str, dict] = {}
        self._members: list[_MemberRef] = []
        self._members_at = 0.0
        self._last_source: tuple | None = None
        self._last_heartbeat = 0.0
        self._last_success_seen: float | None = None
        self._stop = threading.Event()
        self._last_snapshot = None
        self._last_refs: list[_MemberRef] | None = None
        self._inputs: dict[str, tuple] = {}  # member slug -> what its state was computed from
        self._publish_failed = False
        self.failures = 0

    def _member_refs(self) -> list[_MemberRef]:
        now = time.monotonic()
        if not self._members or now - self._members_at > MEMBERS_REFRESH_S:
            members = db.session.execute(select(Member).order_by(Member.slug)).scalars()
            fresh = [_MemberRef(m.id, m.slug, m.name, tuple(m.group_names)) for m in members]
            if fresh != self._members:  # a new list only when members changed
                self._members = fresh
            self._members_at = now
            db.session.remove()
        return self._members

    def cycle(self) -> CycleStats:
        """Run one poll cycle (inside an app context)."""
        started = time.perf_counter()
        stats = CycleStats()
        monitor = get_monitor(self.app)
        calls_before = getattr(monitor.source, "calls", 0)
        snapshot = monitor.refresh()
        stats.api_calls = getattr(monitor.source, "calls", 0) - calls_before
        stats.ok = monitor.last_error is None
        self._publish_source(stats)
        if not stats.ok or snapshot is None:
            self.failures += 1
            stats.duration_s = time.perf_counter() - started
            return stats
        self.failures = 0
        refs = self._member_refs()
        if snapshot is self._last_snapshot and refs is self._last_refs:
            # A quiet cycle (same snapshot and members): nothing can have changed.
            self._tell_observer(snapshot, refs)
            stats.duration_s = time.perf_counter() - started
            return stats
        if refs is not self._last_refs:  # members changed: forget those who left
            slugs = {ref.slug for ref in refs}
            self._inputs = {slug: v for slug, v in self._inputs.items() if slug in slugs}
        stale_after = overview.host_stale_after_s()
        stats.members = len(refs)
        timed = snapshot.timed_state(stale_after)
        # Computed first, sent together: with many members changing at once (an upstream
        # outage), every room is told within a few ms of the others. What was sent is
        # remembered only once it is sent: a failure here is retried next cycle.
        outbox: list[tuple[str, dict, str]] = []
        views_of: dict[str, dict[str, diff.NodeView]] = {}
        tiles: dict[str, dict] = {}
        inputs_of: dict[str, tuple] = {}
        for ref in refs:
            inputs = _member_inputs(ref, snapshot, timed)
            if self._inputs.get(ref.slug) == inputs:
                continue  # same rows in, same state out: skip the computation
            inputs_of[ref.slug] = inputs
            status = member_status(ref, snapshot, stale_after_s=stale_after)
            views = diff.node_views(status)
            changed = diff.changed(self.previous.get(ref.slug), views)
            if changed:
                self._unobserved[ref.id] = status
                views_of[ref.slug] = views
                stats.changed_members += 1
                stats.changed_nodes += len(changed)
                # A member this poller never sent (its first cycle: a start, a takeover)
                # gets its whole state: clients may hold one older than any diff.
                full = ref.slug not in self.previous
                payload = diff.member_payload(ref.slug, status, views, changed, full=full)
                outbox.append(("member.update", payload, events.member_room(ref.slug)))
            tile = wall_service.tile_data(ref, status)  # its state: not its requests
            if self.previous_tiles.get(ref.slug) != tile:
                tiles[ref.slug] = tile
        if tiles:
            outbox.append(("wall.update", {"tiles": list(tiles.values())}, events.WALL_ROOM))
        try:
            with self.batch():
                for event, data, room in outbox:
                    self._emit(event, data, room, stats)
        except Exception as exc:  # noqa: BLE001 - Redis away: one line, then retried
            if not self._publish_failed:
                logger.warning("Live updates not sent (%s); retried every cycle", exc)
            self._publish_failed = True
            stats.duration_s = time.perf_counter() - started
            return stats
        if self._publish_failed:
            logger.warning("Live updates sent again")
            self._publish_failed = False
        self.previous.update(views_of)
        self.previous_tiles.update(tiles)
        self._inputs.update(inputs_of)
        self._last_snapshot, self._last_refs = snapshot, refs
        self._tell_observer(snapshot, refs)
        stats.duration_s = time.perf_counter() - started
        return stats

    def _tell_observer(self, snapshot: Snapshot, refs: list[_MemberRef]) -> None:
        self._record_usage(snapshot, refs)
        if self.observe is None:
            return
        maintenances = None
        if snapshot.maintenances != self._maintenances_seen:
            maintenances = _maintenances_of(refs, snapshot)
        if not self._unobserved and maintenances is None:
            return
        try:
            self.observe(dict(self._unobserved), maintenances)
        except Exception:  # noqa: BLE001 - the database away: told again next cycle
            logger.exception("Observer failed; retried next cycle")
            db.session.rollback()
            return
        self._unobserved.clear()
        self._maintenances_seen = snapshot.maintenances

    def _record_usage(self, snapshot: Snapshot, refs: list[_MemberRef]) -> None:
        if self.meter is None:
            return
        try:
            self.meter(refs, snapshot)
        except Exception:  # noqa: BLE001 - the database away: stored on a later cycle
            logger.exception("Probe meter failed; retried next cycle")
            db.session.rollback()

    def forget(self) -> None:
        """Forget what was sent: the next cycle sends every member's whole state and tile."""
        self._maintenances_seen = None
        self.previous.clear()
        self.previous_tiles.clear()
        self._inputs.clear()
        self._last_snapshot = None

    def _emit(self, event: str, data: dict, room: str | None, stats: CycleStats) -> None:
        self.publish(event, data, room)
        stats.events.append((event, room))

    def _publish_source(self, stats: CycleStats) -> None:
        state = overview.source_state()
        key = (state["source_ok"], state["stale"])
        now = time.monotonic()
        success = get_monitor(self.app).last_success
        # A read that came after a gap longer than the limit (a slow full read): a page
        # opened meanwhile was told "stale"; tell everyone at once that it is fresh again.
        gap = (
            success is not None
            and self._last_success_seen is not None
            and success - self._last_success_seen > state["stale_after_s"]
        )
        self._last_success_seen = success
        if key != self._last_source or gap or now - self._last_heartbeat >= HEARTBEAT_S:
            self._last_source = key
            self._last_heartbeat = now
            self._emit("source", state, None, stats)

    def run(self, interval: float | None = None, lock: LeaderLock | None = None) -> None:
        """Poll until :meth:`stop`; back off while the source is down.

        With a ``lock`` (see :mod:`webapp.live.leader`), wait until this
        poller is the only active one, and go back to waiting if it loses it.
        """
        interval = interval or float(self.app.config["POLL_INTERVAL"])
        logger.info("Poller started (every %.1f s)", interval)
        waiting_logged = False
        monitor = get_monitor(self.app)
        while not self._stop.is_set():
            started = time.monotonic()
            if lock is not None and not lock.still_held():
                if not lock.acquire():
                    if not waiting_logged:
                        logger.info("Another poller is active; this one waits to take over")
                        waiting_logged = True
                    self._stop.wait(min(interval, float(self.app.config["POLLER_LOCK_TIMEOUT"])))
                    continue
                self.forget()  # another poller may have spoken meanwhile
            if waiting_logged:
                logger.info("This poller is now the active one")
                waiting_logged = False
            with self.app.app_context():
                try:
                    stats = self.cycle()
                except Exception:  # noqa: BLE001 - the loop must survive anything
                    logger.exception("Poll cycle failed")
                    stats = CycleStats(ok=False)
                    self.failures += 1
            monitor.polled = True  # pages now read this poller's snapshot, not the source
            delay = interval
            if not stats.ok:
                delay = min(interval * 2 ** min(self.failures - 1, 5), 30.0)
            # A steady period: the cycle's own duration is part of it.
            self._stop.wait(max(0.0, delay - (time.monotonic() - started)))
        monitor.polled = False
        if lock is not None:
            lock.release()
        logger.info("Poller stopped")

    def stop(self) -> None:
        self._stop.set()
