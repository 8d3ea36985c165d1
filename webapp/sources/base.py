"""The supervision source contract.

Every part of Vigie reads monitoring data through :class:`MonitoringSource`.
Implementations return the frozen dataclasses below, never raw API payloads,
and raise :class:`SourceUnavailable` / :class:`SourceError` instead of hiding a
failure behind empty results.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Protocol
from typing import runtime_checkable

# One severity vocabulary: the pure side's (the Zabbix API's values, 0-5), re-exported
# here so that sources, the pipeline and topology compare the very same enum.
from topology.model import Severity

__all__ = [
    "Availability",
    "ChangeSet",
    "Dependency",
    "Host",
    "HostEvent",
    "HostGroup",
    "Interface",
    "Maintenance",
    "Metric",
    "MonitoringSource",
    "Problem",
    "Severity",
    "SourceConfigError",
    "SourceError",
    "SourceUnavailable",
    "UnknownHost",
    "as_utc",
]


class SourceError(Exception):
    """The source answered, but with an error (bad token, bad request...)."""


class SourceUnavailable(SourceError):
    """The source could not be reached (timeout, connection refused, HTTP 5xx)."""


class SourceConfigError(SourceError, ValueError):
    """The source's settings are missing or wrong (no token, unknown source...).

    Raised when the source is built, before anything is sent; its message is one
    line an operator can act on.
    """


class UnknownHost(SourceError):
    """A host name given by the caller does not exist in the source."""


class Availability(enum.StrEnum):
    """Whether the host's own data still arrives (agent/SNMP availability)."""

    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class HostGroup:
    """A Zabbix host group; a member owns one or more of them."""

    groupid: str
    name: str


@dataclass(frozen=True, slots=True)
class Interface:
    """A host interface (agent, SNMP...)."""

    type: str
    ip: str = ""
    dns: str = ""
    port: str = ""
    available: Availability = Availability.UNKNOWN


@dataclass(frozen=True, slots=True)
class Host:
    """A monitored host with its tags and inventory.

    ``tags`` and ``inventory`` are tuples of ``(name, value)`` pairs so the
    object stays hashable; use :meth:`tag` and :meth:`inventory_value`.
    """

    hostid: str
    host: str
    name: str
    groups: tuple[str, ...]
    tags: tuple[tuple[str, str], ...] = ()
    inventory: tuple[tuple[str, str], ...] = ()
    interfaces: tuple[Interface, ...] = ()
    enabled: bool = True
    in_maintenance: bool = False
    available: Availability = Availability.UNKNOWN
    last_data_at: datetime | None = None

    def tag(self, name: str, default: str | None = None) -> str | None:
        """Return the first value of tag ``name``, or ``default``."""
        for key, value in self.tags:
            if key == name:
                return value
        return default

    def inventory_value(self, name: str, default: str | None = None) -> str | None:
        """Return inventory field ``name``, or ``default``."""
        for key, value in self.inventory:
            if key == name:
                return value
        return default


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem currently firing (or just resolved, in a :class:`ChangeSet`).

    ``acknowledged_at`` is the time of the first acknowledgement of a problem
    acknowledged now (``None`` when it is not, or when the source cannot tell).
    """

    eventid: str
    hostid: str
    triggerid: str
    name: str
    severity: Severity
    since: datetime
    acknowledged: bool = False
    suppressed: bool = False
    tags: tuple[tuple[str, str], ...] = ()
    acknowledged_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class HostEvent:
    """A problem a host had (or has): what a support request opened from it keeps.

    ``ended_at`` is ``None`` while the problem is still firing.
    """

    eventid: str
    hostid: str
    name: str
    severity: Severity
    started_at: datetime
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Dependency:
    """``hostid`` depends on ``depends_on`` (from trigger dependencies)."""

    hostid: str
    depends_on: str


@dataclass(frozen=True, slots=True)
class Maintenance:
    """A maintenance period covering some hosts."""

    maintenanceid: str
    name: str
    hostids: tuple[str, ...]
    active_since: datetime
    active_till: datetime


@dataclass(frozen=True, slots=True)
class Metric:
    """The last value of one key item of a host (free disk, latency, uptime)."""

    hostid: str
    key: str
    name: str
    value: str
    units: str = ""
    clock: datetime | None = None


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """What changed since a cursor.

    ``opened`` are problems that started, ``closed`` the event ids of problems
    that ended. ``full`` is true when the source could not compute a delta
    (first call, cursor too old) and ``opened`` holds every current problem.
    """

    cursor: str
    opened: tuple[Problem, ...] = ()
    closed: tuple[str, ...] = ()
    full: bool = False
    read_at: datetime | None = field(default=None, compare=False)


@runtime_checkable
class MonitoringSource(Protocol):
    """What Vigie needs from a supervision back-end (Zabbix or the demo).

    A source may also set ``concurrent_reads = True`` when two of its methods can
    run at once from two threads (a remote API): a full read then overlaps them.
    """

    name: str

    def version(self) -> str:
        """Return the back-end's version string."""
        ...

    def host_groups(self) -> list[HostGroup]:
        """Return every host group visible to Vigie."""
        ...

    def hosts(self, groups: Iterable[str] | None = None) -> list[Host]:
        """Return hosts of the named host groups (all when ``None``)."""
        ...

    def problems(self, groups: Iterable[str] | None = None) -> list[Problem]:
        """Return problems firing now on hosts of ``groups``."""
        ...

    def dependencies(self, groups: Iterable[str] | None = None) -> list[Dependency]:
        """Return host-level dependencies derived from trigger dependencies."""
        ...

    def maintenances(self, groups: Iterable[str] | None = None) -> list[Maintenance]:
        """Return maintenance periods active now on hosts of ``groups``."""
        ...

    def probe_counts(self, groups: Iterable[str] | None = None) -> dict[str, int]:
        """Return the number of enabled items per host group name."""
        ...

    def last_values(self, hostids: Iterable[str]) -> list[Metric]:
        """Return the key last values of the given hosts."""
        ...

    def changes(self, cursor: str | None) -> ChangeSet:
        """Return what changed since ``cursor`` (a full set when ``None``)."""
        ...

    def acknowledge(self, eventids: list[str], message: str, *, close: bool = False) -> None:
        """Acknowledge problems, with a message (Zabbix ``event.acknowledge``)."""
        ...

    def host_events(self, hostid: str, since: datetime) -> list[HostEvent]:
        """Return the problems of ``hostid`` that started at or after ``since``, and those
        still firing now whenever they started.

        Newest first (by start); resolved ones carry their end, firing ones
        ``ended_at=None`` (a problem :meth:`problems` returns now is among them).
        An unknown host has none. A naive ``since`` is taken as UTC.
        """
        ...


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware datetime; a naive one is taken as UTC (how Vigie stores them).

    >>> as_utc(datetime(2026, 1, 5, 8, 0)).isoformat()
    '2026-01-05T08:00:00+00:00'
    """
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
