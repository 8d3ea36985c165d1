"""DemoSource: the simulated estate behind the :class:`MonitoringSource` contract.

Problems come from two places:

* *natural* incidents, a pure function of time (the time model below): the clock
  is cut into slots and a keyed hash decides, per host and slot, whether a
  typical incident of that kind of equipment (camera offline, NAS disk at 92 %,
  access link down...) starts, and for how long;
* *injected* faults, written by ``flask vigie demo fail HOST`` (or the admin
  page) into the shared state file (:mod:`.state`), so that another process can
  drive the demo shown by the web process.

Both kinds have a past: :meth:`DemoSource.host_events` replays the time model
over the last year and reads the repaired faults the state file remembers.

The same file can also simulate an outage of the whole source
(``flask vigie demo outage on``), which makes every call raise
:class:`SourceUnavailable`, like an unreachable Zabbix.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from webapp.sources.base import Availability
from webapp.sources.base import ChangeSet
from webapp.sources.base import Dependency
from webapp.sources.base import Host
from webapp.sources.base import HostEvent
from webapp.sources.base import HostGroup
from webapp.sources.base import Maintenance
from webapp.sources.base import Metric
from webapp.sources.base import Problem
from webapp.sources.base import Severity
from webapp.sources.base import SourceUnavailable
from webapp.sources.base import UnknownHost
from webapp.sources.base import as_utc
from webapp.sources.demo.estate import INCIDENTS
from webapp.sources.demo.estate import ROLE_PROFILE
from webapp.sources.demo.estate import WARNING_KINDS
from webapp.sources.demo.estate import build_estate
from webapp.sources.demo.estate import keyed_hash
from webapp.sources.demo.estate import keyed_unit
from webapp.sources.demo.state import WARNING_KEY
from webapp.sources.demo.state import DemoState
from webapp.sources.demo.state import ack_times
from webapp.sources.demo.state import fault_times
from webapp.sources.demo.state import fault_times_at
from webapp.sources.demo.state import repairs

__all__ = ["SLOT_SECONDS", "DemoSource"]

logger = logging.getLogger(__name__)

SLOT_SECONDS = 900

#: How far back :meth:`DemoSource.host_events` replays natural incidents (Zabbix's
#: default housekeeping keeps trigger events a year).
NATURAL_HISTORY_S = 365 * 86400

# A natural incident starts up to this long after its slot begins.
_MAX_OFFSET_S = 300


QUIET_ODDS = 0.2  # a large member's odds of a natural incident, per device and slot


class DemoSource:
    """A simulated estate that behaves like a Zabbix server.

    Parameters
    ----------
    seed : int
        Seed of the estate and of its natural incidents.
    members : int
        Number of member organisations (the first six are hand-written, the
        others generated) — 300 for benchmarks.
    items : int, optional
        Total number of items (probes) to spread over the estate.
    state_file : path, optional
        Where injected faults live; ``None`` keeps them in memory.
    clock : callable, optional
        Returns the current aware datetime (tests freeze time with it).
    incidents : bool
        Whether natural incidents happen (tests switch them off).

    Examples
    --------
    >>> source = DemoSource(incidents=False)
    >>> len(source.host_groups()) >= 6
    True
    >>> source.problems()
    []
    """

    name = "demo"

    def __init__(
        self,
        *,
        seed: int = 42,
        members: int = 8,
        items: int | None = None,
        state_file: str | os.PathLike[str] | None = None,
        clock: Callable[[], datetime] | None = None,
        incidents: bool = True,
    ) -> None:
        self.seed = seed
        self.clock = clock or (lambda: datetime.now(UTC))
        self.incidents = incidents
        self.state = DemoState(state_file)
        self.calls = 0
        estate = build_estate(seed, members, items)
        self.members = estate.members
        self._hosts = estate.hosts
        self._parent = estate.parent
        self._role = estate.role
        self._items = estate.items
        self._by_name = {host.host: host for host in self._hosts}
        self._by_id = {host.hostid: host for host in self._hosts}
        # A large member's devices fail more rarely each (a few incidents at a time, as
        # in a real estate of 500 devices, not a dozen).
        planned = {member.group for member in self.members if member.plan}
        self._quiet = {h.hostid for h in self._hosts if planned.intersection(h.groups)}
        self._children: dict[str, list[str]] = {}
        for child, parent in self._parent.items():
            self._children.setdefault(parent, []).append(child)

    # -- injected state -----------------------------------------------------------------

    def host_by_name(self, name: str) -> Host:
        """Return the host called ``name`` (technical name) or raise :class:`UnknownHost`."""
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownHost(name) from None

    def fail(self, name: str) -> None:
        """Inject a fault: host ``name`` stops answering until :meth:`repair`."""
        self.set_faults([name], failed=True)
        logger.info("Demo fault injected on %s", name)

    def repair(self, name: str) -> bool:
        """Remove an injected fault; return whether there was one."""
        return bool(self.set_faults([name], failed=False))

    def warn(self, name: str) -> None:
        """Inject a warning: host ``name`` keeps working but reports a problem below
        the down threshold (a NAS's disk at 92 %, a server's load…) until :meth:`repair`."""
        self.set_faults([name], failed=True, warning=True)
        logger.info("Demo warning injected on %s", name)

    def set_faults(self, names: Iterable[str], *, failed: bool, warning: bool = False) -> int:
        """Fail (or repair) several hosts in one write of the state file; how many changed.

        See :meth:`DemoState.set_faults` (sequence numbers, warnings, history).
        """
        hostids = [self.host_by_name(name).hostid for name in names]
        now = self.clock().timestamp()
        return self.state.set_faults(hostids, failed=failed, warning=warning, now=now)

    def acknowledge(self, eventids: list[str], message: str, *, close: bool = False) -> None:
        """Acknowledge problems (kept in the state file, like Zabbix keeps them)."""
        self._check()
        self.state.acknowledge(eventids, message, now=self.clock().timestamp())

    def set_outage(self, down: bool) -> None:
        """Simulate the whole source being unreachable (or back)."""
        self.state.set_outage(down)

    def faults(self) -> dict[str, datetime]:
        """Return injected faults as ``{host name: since}``."""
        data = self.state.read()
        return {
            self._by_id[key.removeprefix(WARNING_KEY)].host: datetime.fromtimestamp(since, UTC)
            for key, since in fault_times(data).items()
            if key.removeprefix(WARNING_KEY) in self._by_id
        }

    def _check(self) -> dict:
        self.calls += 1
        data = self.state.read()
        if data.get("outage"):
            raise SourceUnavailable("La source de démonstration est arrêtée (panne simulée).")
        return data

    # -- time model ---------------------------------------------------------------------

    def _natural_kind(self, host: Host) -> tuple[str | None, float]:
        """The kind of natural incident ``host`` has (``None``: none) and its odds per slot."""
        _, probability, kind = ROLE_PROFILE[self._role[host.hostid]]
        if host.hostid in self._quiet:
            probability *= QUIET_ODDS
        return (kind if self.incidents else None), probability

    def _natural_span(
        self, host: Host, candidate: int, probability: float
    ) -> tuple[float, float] | None:
        """Start and end of the natural incident of ``host`` in slot ``candidate``, if any."""
        if keyed_unit(self.seed, host.hostid, candidate) >= probability:
            return None
        offset = keyed_unit(self.seed, "o", host.hostid, candidate) * _MAX_OFFSET_S
        start = candidate * SLOT_SECONDS + offset
        duration = 240 + keyed_unit(self.seed, "d", host.hostid, candidate) * SLOT_SECONDS
        return start, start + duration

    def _natural(self, host: Host, now: float) -> list[Problem]:
        kind, probability = self._natural_kind(host)
        if kind is None:
            return []
        slot = int(now // SLOT_SECONDS)
        found = []
        for candidate in (slot - 1, slot):
            span = self._natural_span(host, candidate, probability)
            if span is not None and span[0] <= now < span[1]:
                name, severity = INCIDENTS[kind]
                found.append(self._problem(host, kind, name, severity, span[0], candidate))
        return found

    def _problem(
        self, host: Host, kind: str, name: str, severity: Severity, start: float, salt: object
    ) -> Problem:
        eventid = str(keyed_hash(self.seed, "e", host.hostid, kind, salt) % 10**12)
        return Problem(
            eventid=eventid,
            hostid=host.hostid,
            triggerid=str(keyed_hash(self.seed, "t", host.hostid, kind) % 10**9),
            name=name.format(name=host.name),
            severity=severity,
            since=datetime.fromtimestamp(int(start), UTC),
            tags=(("scope", "availability" if severity >= Severity.HIGH else "capacity"),),
        )

    def _injected(self, host: Host, key: str, since: float) -> Problem:
        """The problem of the fault (or warning, under ``WARNING_KEY``) stored as ``key``."""
        if key.startswith(WARNING_KEY):
            kind = WARNING_KINDS.get(self._role[host.hostid], "slow")
            name, severity = INCIDENTS[kind]
            return self._problem(host, kind, name, severity, since, ("w", since))
        name, severity = INCIDENTS["fault"]
        return self._problem(host, "fault", name, severity, since, since)

    def _problems_at(self, now: float, faults: dict[str, float]) -> list[Problem]:
        problems = []
        for host in self._hosts:
            problems.extend(self._natural(host, now))
            for key in (host.hostid, WARNING_KEY + host.hostid):
                if key in faults:
                    problems.append(self._injected(host, key, faults[key]))
        return problems

    @staticmethod
    def _with_acks(problems: Iterable[Problem], data: dict) -> list[Problem]:
        """``problems`` with the acknowledgements of the state read ``data``."""
        acks = ack_times(data)
        return [
            replace(
                p,
                acknowledged=p.eventid in acks,
                acknowledged_at=(
                    datetime.fromtimestamp(acks[p.eventid], UTC)
                    if acks.get(p.eventid) is not None
                    else None
                ),
            )
            for p in problems
        ]

    def _down_hosts(self, problems: Iterable[Problem]) -> set[str]:
        """Hosts that stopped answering, and every host behind them."""
        down = {
            p.hostid
            for p in problems
            if p.severity >= Severity.HIGH and self._role[p.hostid] not in ("server",)
        }
        behind: set[str] = set()
        stack = list(down)
        while stack:
            for child in self._children.get(stack.pop(), ()):
                if child not in behind:
                    behind.add(child)
                    stack.append(child)
        return down | behind

    def _selected(self, groups: Iterable[str] | None) -> list[Host]:
        if groups is None:
            return self._hosts
        wanted = set(groups)
        return [host for host in self._hosts if wanted.intersection(host.groups)]

    # -- MonitoringSource ---------------------------------------------------------------

    def version(self) -> str:
        self._check()
        return "6.0.14-demo"

    def host_groups(self) -> list[HostGroup]:
        self._check()
        return [HostGroup(str(1000 + i), m.group) for i, m in enumerate(self.members)]

    def hosts(self, groups: Iterable[str] | None = None) -> list[Host]:
        data = self._check()
        now = self.clock()
        faults = fault_times(data)
        problems = self._problems_at(now.timestamp(), faults)
        down = self._down_hosts(problems)
        silent_since = {p.hostid: p.since for p in problems if p.hostid in down}
        result = []
        for host in self._selected(groups):
            if host.hostid in down:
                last = silent_since.get(host.hostid) or now - timedelta(minutes=2)
                result.append(_replace_host(host, Availability.UNAVAILABLE, last))
            else:
                # Items every minute: the last value came at the top of the minute (so two
                # reads within a minute give equal hosts, as a real source would).
                last = datetime.fromtimestamp(now.timestamp() // 60 * 60, UTC)
                result.append(_replace_host(host, Availability.AVAILABLE, last))
        return result

    def problems(self, groups: Iterable[str] | None = None) -> list[Problem]:
        data = self._check()
        faults = fault_times(data)
        selected = {host.hostid for host in self._selected(groups)}
        problems = self._problems_at(self.clock().timestamp(), faults)
        return sorted(
            self._with_acks((p for p in problems if p.hostid in selected), data),
            key=lambda p: (p.since, p.eventid),
        )

    def dependencies(self, groups: Iterable[str] | None = None) -> list[Dependency]:
        self._check()
        # Like a real estate: only cameras carry explicit trigger dependencies.
        return [
            Dependency(host.hostid, self._parent[host.hostid])
            for host in self._selected(groups)
            if self._role[host.hostid] == "camera"
        ]

    def maintenances(self, groups: Iterable[str] | None = None) -> list[Maintenance]:
        self._check()
        return []

    def probe_counts(self, groups: Iterable[str] | None = None) -> dict[str, int]:
        self._check()
        counts: dict[str, int] = {}
        for host in self._selected(groups):
            for group in host.groups:
                counts[group] = counts.get(group, 0) + self._items[host.hostid]
        if groups is not None:
            for group in groups:
                counts.setdefault(group, 0)
        return counts

    def last_values(self, hostids: Iterable[str]) -> list[Metric]:
        data = self._check()
        now = self.clock()
        faults = fault_times(data)
        problems = self._problems_at(now.timestamp(), faults)
        down = self._down_hosts(problems)
        disk_full = {p.hostid for p in problems if "disque" in p.name}
        metrics = []
        for hostid in hostids:
            host = self._by_id.get(hostid)
            if host is None or hostid in down:
                continue
            role = self._role[hostid]
            latency = 0.4 + keyed_unit(self.seed, "lat", hostid, int(now.timestamp() // 60)) * 3
            metrics.append(Metric(hostid, "icmppingsec", "Latence", f"{latency:.1f}", "ms", now))
            uptime = 86400 * (3 + keyed_hash(self.seed, "up", hostid) % 90)
            metrics.append(
                Metric(hostid, "system.uptime", "Durée de fonctionnement", str(uptime), "s", now)
            )
            if role in ("server", "nas"):
                spread = keyed_unit(self.seed, "disk", hostid) * 40
                free = 8.0 if hostid in disk_full else 35 + spread
                metrics.append(
                    Metric(
                        hostid,
                        "vfs.fs.size[/,pfree]",
                        "Espace disque libre",
                        f"{free:.0f}",
                        "%",
                        now,
                    )
                )
        return metrics

    def changes(self, cursor: str | None) -> ChangeSet:
        # The clock before the state: a fault written in between is reported again
        # by the next call rather than lost (like Zabbix's cursor read first).
        now = self.clock()
        data = self._check()
        faults = fault_times(data)
        current = self._with_acks(self._problems_at(now.timestamp(), faults), data)
        # Cursor: the time (for natural incidents) and the sequence number of the last
        # injected change (a fault written at any moment is after the cursor's number).
        next_cursor = f"{now.timestamp()!r}:{data.get('seq', 0)}"
        if cursor is None:
            return ChangeSet(cursor=next_cursor, opened=tuple(current), full=True, read_at=now)
        try:
            then_text, _, seq_text = cursor.partition(":")
            then, then_seq = float(then_text), int(seq_text or 0)
        except ValueError:
            return ChangeSet(cursor=next_cursor, opened=tuple(current), full=True, read_at=now)
        previous_faults = fault_times_at(data, then_seq)
        before = {p.eventid for p in self._problems_at(then, previous_faults)}
        now_ids = {p.eventid for p in current}
        opened = tuple(p for p in current if p.eventid not in before)
        closed = tuple(sorted(before - now_ids))
        return ChangeSet(cursor=next_cursor, opened=opened, closed=closed, read_at=now)

    def host_events(self, hostid: str, since: datetime) -> list[HostEvent]:
        """Return the problems of ``hostid`` that started since ``since``, or still fire.

        What the demo can tell: its natural incidents over the last year at most
        (:data:`NATURAL_HISTORY_S`; they are a function of time), the injected
        faults and warnings firing now, and the repaired ones the state file still
        remembers with their repair time. A problem :meth:`problems` returns now
        has ``ended_at=None``. Newest first; an unknown host has none.

        Parameters
        ----------
        hostid : str
        since : datetime
            Naive: UTC.

        Returns
        -------
        list of HostEvent
        """
        data = self._check()
        now = self.clock().timestamp()
        host = self._by_id.get(str(hostid))
        if host is None:
            return []
        start = as_utc(since).timestamp()
        found: dict[str, HostEvent] = {}

        def keep(problem: Problem, ended_at: float | None) -> None:
            found[problem.eventid] = HostEvent(
                eventid=problem.eventid,
                hostid=problem.hostid,
                name=problem.name,
                severity=problem.severity,
                started_at=problem.since,
                ended_at=None if ended_at is None else datetime.fromtimestamp(int(ended_at), UTC),
            )

        kind, probability = self._natural_kind(host)
        if kind is not None:
            name, severity = INCIDENTS[kind]
            slot = int(now // SLOT_SECONDS)
            first = int((max(start, now - NATURAL_HISTORY_S) - _MAX_OFFSET_S) // SLOT_SECONDS)
            for candidate in range(min(first, slot - 1), slot + 1):
                span = self._natural_span(host, candidate, probability)
                if span is None or span[0] > now:
                    continue
                firing = now < span[1]  # as _natural() has it
                if firing or int(span[0]) >= start:
                    problem = self._problem(host, kind, name, severity, span[0], candidate)
                    keep(problem, None if firing else span[1])
        for key, failed_at, repaired_at in repairs(data):
            if key.removeprefix(WARNING_KEY) == host.hostid and int(failed_at) >= start:
                keep(self._injected(host, key, failed_at), repaired_at)
        for key, failed_at in fault_times(data).items():  # firing: whenever it started
            if key.removeprefix(WARNING_KEY) == host.hostid:
                keep(self._injected(host, key, failed_at), None)
        return sorted(found.values(), key=lambda e: (e.started_at, e.eventid), reverse=True)


def _replace_host(host: Host, available: Availability, last: datetime) -> Host:
    return Host(
        hostid=host.hostid,
        host=host.host,
        name=host.name,
        groups=host.groups,
        tags=host.tags,
        inventory=host.inventory,
        interfaces=host.interfaces,
        enabled=host.enabled,
        in_maintenance=host.in_maintenance,
        available=available,
        last_data_at=last,
    )
