"""The estate snapshot: one batched read of the source for every member.

Pages never call the source directly: they read the latest :class:`Snapshot`,
refreshed by the poller (see :mod:`webapp.live.monitor`). Its indexes (hosts by
group, problems and dependencies by host) are built once, when it is created.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime

from webapp.sources.base import Dependency
from webapp.sources.base import Host
from webapp.sources.base import Maintenance
from webapp.sources.base import MonitoringSource
from webapp.sources.base import Problem


@dataclass(frozen=True)
class Snapshot:
    """Everything read from the source in one poll cycle."""

    read_at: datetime
    hosts: tuple[Host, ...]
    problems: tuple[Problem, ...]
    dependencies: tuple[Dependency, ...]
    maintenances: tuple[Maintenance, ...]
    probe_counts: dict[str, int]
    api_calls: int = 0
    hosts_by_group: dict[str, tuple[Host, ...]] = field(default_factory=dict, compare=False)
    problems_by_host: dict[str, tuple[Problem, ...]] = field(default_factory=dict, compare=False)
    dependencies_by_host: dict[str, tuple[Dependency, ...]] = field(
        default_factory=dict, compare=False
    )

    def __post_init__(self) -> None:
        if not self.hosts_by_group and self.hosts:
            grouped: dict[str, list[Host]] = {}
            for host in self.hosts:
                for group in host.groups:
                    grouped.setdefault(group, []).append(host)
            object.__setattr__(
                self, "hosts_by_group", {group: tuple(items) for group, items in grouped.items()}
            )
        if not self.problems_by_host and self.problems:
            object.__setattr__(self, "problems_by_host", _index(self.problems, "hostid"))
        if not self.dependencies_by_host and self.dependencies:
            object.__setattr__(self, "dependencies_by_host", _index(self.dependencies, "hostid"))

    def same_estate(self, other: Snapshot, host_stale_after_s: float) -> bool:
        """Whether ``other`` (a later read) would show exactly what this one shows.

        Same rows, and the same time-dependent verdicts at both read times: hosts
        silent for longer than ``host_stale_after_s`` and maintenance windows in
        effect. Comparing is cheap when the source hands back the same objects for
        unchanged rows (tuples compare identical items without calling ``__eq__``).
        """
        return (
            self.hosts == other.hosts
            and self.problems == other.problems
            and self.dependencies == other.dependencies
            and self.maintenances == other.maintenances
            and self.probe_counts == other.probe_counts
            and self.timed_state(host_stale_after_s)
            == self.timed_state(host_stale_after_s, at=other.read_at)
        )

    def timed_state(
        self, host_stale_after_s: float, at: datetime | None = None
    ) -> tuple[frozenset[str], frozenset[str]]:
        """Hosts silent for too long and maintenances in effect, at ``at`` (the read)."""
        at = at or self.read_at
        stale = frozenset(
            host.hostid
            for host in self.hosts
            if host.last_data_at is not None
            and (at - host.last_data_at).total_seconds() > host_stale_after_s
        )
        active = frozenset(
            m.maintenanceid for m in self.maintenances if m.active_since <= at <= m.active_till
        )
        return stale, active

    def hosts_of(self, groups: list[str]) -> list[Host]:
        seen: dict[str, Host] = {}
        for group in groups:
            for host in self.hosts_by_group.get(group, ()):
                seen.setdefault(host.hostid, host)
        return sorted(seen.values(), key=lambda h: h.host)


def _index(items, attribute: str) -> dict[str, tuple]:
    grouped: dict[str, list] = {}
    for item in items:
        grouped.setdefault(getattr(item, attribute), []).append(item)
    return {key: tuple(values) for key, values in grouped.items()}


def read_snapshot(
    source: MonitoringSource, clock: Callable[[], datetime] | None = None
) -> Snapshot:
    """Read the whole estate with a bounded number of calls (independent of members)."""
    return read_full(source, clock)[0]


def read_full(
    source: MonitoringSource, clock: Callable[[], datetime] | None = None
) -> tuple[Snapshot, str]:
    """A full read, and the change cursor to continue from."""
    calls_before = getattr(source, "calls", 0)
    if getattr(source, "concurrent_reads", False):
        # The host list is the longest call by far (a remote API): the others run
        # meanwhile, in this thread.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigie-hosts") as pool:
            pending = pool.submit(source.hosts)
            change_set, dependencies, maintenances, counts = _read_rest(source)
            hosts = tuple(pending.result())
    else:
        hosts = tuple(source.hosts())
        change_set, dependencies, maintenances, counts = _read_rest(source)
    snapshot = Snapshot(
        read_at=(clock or (lambda: datetime.now(UTC)))(),
        hosts=hosts,
        problems=tuple(change_set.opened),
        dependencies=dependencies,
        maintenances=maintenances,
        probe_counts=counts,
        api_calls=getattr(source, "calls", 0) - calls_before,
    )
    return snapshot, change_set.cursor


def _read_rest(source: MonitoringSource) -> tuple:
    change_set = source.changes(None)
    dependencies = tuple(source.dependencies())
    maintenances = tuple(source.maintenances())
    return change_set, dependencies, maintenances, source.probe_counts()
