"""A member's state: snapshot rows -> topology inputs -> map, incidents and summary."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

import networkx as nx
from cachetools import LRUCache
from cachetools import cached

import topology
from topology.model import DependencyInfo
from topology.model import HostInfo
from topology.model import MemberMap
from topology.model import ProblemInfo
from topology.model import Summary
from webapp.live.snapshot import Snapshot
from webapp.models import Member
from webapp.sources.base import Host


@dataclass(frozen=True)
class MemberStatus:
    """What pages and the API show about one member."""

    member_map: MemberMap
    summary: Summary
    probes_used: int
    generated_at: datetime
    graph: nx.DiGraph | None = None  # the topology the map is drawn from (never mutated)

    @functools.cached_property
    def signature(self) -> str | None:
        """What the map's layout depends on (computed once per status, when drawn)."""
        if self.graph is None:
            return None
        return topology.topology_signature(self.graph, self.member_map.root)

    @property
    def overall(self) -> str:
        return str(self.summary.overall)


def host_info(host: Host, now: datetime, maintenance_ids: frozenset[str]) -> HostInfo:
    """Turn a source host into the topology's input."""
    age = None
    if host.last_data_at is not None:
        age = max(0.0, (now - host.last_data_at).total_seconds())
    return HostInfo(
        hostid=host.hostid,
        host=host.host,
        name=host.name,
        role=host.tag("role"),
        parent=host.tag("parent"),
        site=host.tag("site"),
        inventory_type=host.inventory_value("type"),
        available=str(host.available),
        in_maintenance=host.in_maintenance or host.hostid in maintenance_ids,
        last_data_age_s=age,
    )


CACHE_SIZE = 1024


def member_status(
    member: Member, snapshot: Snapshot, *, stale_after_s: float, now: datetime | None = None
) -> MemberStatus:
    """Compute (or reuse, for the same snapshot) the status of ``member``."""
    return _cached_status(tuple(member.group_names), snapshot, stale_after_s, now)


def _status_key(
    groups: tuple[str, ...], snapshot: Snapshot, stale_after_s: float, now: datetime | None
) -> tuple:
    # The snapshot object itself (a new read is a new object), not its rows: cheap.
    return (id(snapshot), snapshot.read_at, groups, stale_after_s, now)


@cached(LRUCache(maxsize=CACHE_SIZE), key=_status_key, lock=threading.Lock())
def _cached_status(
    groups: tuple[str, ...], snapshot: Snapshot, stale_after_s: float, now: datetime | None
) -> MemberStatus:
    return _compute(groups, snapshot, stale_after_s, now or snapshot.read_at)


def _compute(
    groups: tuple[str, ...], snapshot: Snapshot, stale_after_s: float, now: datetime
) -> MemberStatus:
    hosts = snapshot.hosts_of(list(groups))
    ids = {host.hostid for host in hosts}
    in_maintenance = frozenset(
        hostid
        for maintenance in snapshot.maintenances
        if maintenance.active_since <= now <= maintenance.active_till
        for hostid in maintenance.hostids
    )
    infos = [host_info(host, now, in_maintenance) for host in hosts]
    dependencies = [
        DependencyInfo(dep.hostid, dep.depends_on)
        for hostid in ids
        for dep in snapshot.dependencies_by_host.get(hostid, ())
        if dep.depends_on in ids
    ]
    problems = [
        ProblemInfo(
            eventid=p.eventid,
            hostid=p.hostid,
            name=p.name,
            severity=int(p.severity),
            since=p.since,
            acknowledged=p.acknowledged,
            suppressed=p.suppressed,
            acknowledged_at=p.acknowledged_at,
        )
        for hostid in ids
        for p in snapshot.problems_by_host.get(hostid, ())
    ]
    graph = topology.build_graph(infos, dependencies)
    member_map = topology.analyse(graph, problems, now=now, stale_after_s=stale_after_s)
    summary = topology.summarise(member_map, now=now)
    probes = sum(snapshot.probe_counts.get(group, 0) for group in groups)
    return MemberStatus(
        member_map=member_map,
        summary=summary,
        probes_used=probes,
        generated_at=datetime.now(UTC),
        graph=graph,
    )
