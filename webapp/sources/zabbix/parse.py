"""Zabbix API rows -> Vigie's frozen dataclasses, and the sort keys used on them.

Pure functions, no I/O. A row lacking a field, or holding a value of the wrong
type, raises :class:`SourceError` through :func:`parsing`, never a bare
``KeyError``. All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from typing import Any

from webapp.sources.base import Availability
from webapp.sources.base import Host
from webapp.sources.base import HostEvent
from webapp.sources.base import Interface
from webapp.sources.base import Maintenance
from webapp.sources.base import Metric
from webapp.sources.base import Problem
from webapp.sources.base import Severity
from webapp.sources.base import SourceError

__all__ = [
    "ACKNOWLEDGE_FIELDS",
    "EVENT_OBJECT_TRIGGER",
    "EVENT_SOURCE_TRIGGER",
    "PROBLEM_FIELDS",
    "TAG_FIELDS",
    "acknowledged_at",
    "collation_key",
    "host",
    "host_availability",
    "host_event",
    "hostids",
    "id_key",
    "maintenance",
    "metric",
    "names",
    "parsing",
    "problem",
    "rows",
    "tags",
    "utc",
]

logger = logging.getLogger(__name__)

#: Trigger events (``source``) about triggers (``object``).
EVENT_SOURCE_TRIGGER = 0
EVENT_OBJECT_TRIGGER = 0

#: Fields requested for what :func:`tags` and :func:`problem` read.
TAG_FIELDS = ["tag", "value"]
PROBLEM_FIELDS = ["eventid", "objectid", "name", "severity", "clock", "acknowledged", "suppressed"]
#: Fields of the problem updates (``selectAcknowledges``) :func:`acknowledged_at` reads.
ACKNOWLEDGE_FIELDS = ["clock", "action"]

#: Problem update ``action`` bit of an acknowledgement (Zabbix 6.0).
_ACTION_ACKNOWLEDGE = 2

_INTERFACE_TYPES = {"1": "agent", "2": "snmp", "3": "ipmi", "4": "jmx"}
_AVAILABILITY = {
    "0": Availability.UNKNOWN,
    "1": Availability.AVAILABLE,
    "2": Availability.UNAVAILABLE,
}


@contextmanager
def parsing(method: str) -> Iterator[None]:
    """Turn a missing key or a wrong type in an API answer into :class:`SourceError`."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError) as exc:
        logger.warning("Zabbix %s: unexpected answer (%r)", method, exc)
        raise SourceError(f"Zabbix {method}: unexpected answer ({exc!r})") from exc


def rows(result: Any, method: str) -> list[dict[str, Any]]:
    """Check that ``result`` is a list of objects.

    Raises
    ------
    SourceError
        When it is not.
    """
    if not isinstance(result, list) or not all(isinstance(row, dict) for row in result):
        kind = type(result).__name__
        raise SourceError(f"Zabbix {method}: expected a list of objects, got {kind}")
    return result


def id_key(value: str) -> tuple[int, str]:
    """Sort key putting numeric id strings in numeric order.

    >>> sorted(["10", "9"], key=id_key)
    ['9', '10']
    """
    return (len(value), value)


def collation_key(name: str) -> tuple[str, str]:
    """Sort key close to a database collation: accents and case count last."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return bare.casefold(), name


def utc(clock: Any) -> datetime:
    """Convert a Zabbix unix ``clock`` (string or int) to an aware UTC datetime."""
    return datetime.fromtimestamp(int(clock), tz=UTC)


def tags(row: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Return the ``tags`` of a row as ``(tag, value)`` pairs, in the given order."""
    return tuple((str(tag["tag"]), str(tag.get("value", ""))) for tag in row.get("tags") or ())


def names(groups: Iterable[str]) -> list[str]:
    """Deduplicate group names, keeping order; a lone string is one name.

    >>> names("a")
    ['a']
    """
    if isinstance(groups, str):
        groups = [groups]
    return list(dict.fromkeys(str(name) for name in groups))


def hostids(row: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the ids of a row's ``hosts`` (trigger or event), in id order."""
    return tuple(sorted((str(h["hostid"]) for h in row.get("hosts") or ()), key=id_key))


def host_availability(interfaces: Iterable[Interface]) -> Availability:
    """Summarise interface availability.

    Unavailable when any interface is unavailable, available when at least one
    is available and none is unavailable, unknown otherwise (no interface, or
    only interfaces without items: Zabbix reports those as ``0``).
    """
    states = {interface.available for interface in interfaces}
    if Availability.UNAVAILABLE in states:
        return Availability.UNAVAILABLE
    if Availability.AVAILABLE in states:
        return Availability.AVAILABLE
    return Availability.UNKNOWN


def host(
    row: Mapping[str, Any],
    groups_key: str,
    inventory_fields: Iterable[str],
    visible: Callable[[str], bool],
) -> Host:
    """Parse a ``host.get`` row read with tags, inventory, interfaces and groups.

    Parameters
    ----------
    row : mapping
    groups_key : str
        ``"groups"`` (6.0) or ``"hostgroups"`` (6.2+).
    inventory_fields : iterable of str
        Inventory fields kept, in this order (empty ones are dropped).
    visible : callable
        Tells whether a group name may be shown (the groups prefix).
    """
    inventory = row.get("inventory") or {}
    if not isinstance(inventory, dict):  # ``[]`` when inventory is disabled
        inventory = {}
    interfaces = tuple(
        Interface(
            type=_INTERFACE_TYPES.get(str(item["type"]), str(item["type"])),
            ip=str(item.get("ip", "")),
            dns=str(item.get("dns", "")),
            port=str(item.get("port", "")),
            available=_AVAILABILITY.get(str(item.get("available", "0")), Availability.UNKNOWN),
        )
        for item in row.get("interfaces") or ()
    )
    return Host(
        hostid=str(row["hostid"]),
        host=str(row["host"]),
        name=str(row["name"]),
        groups=tuple(
            sorted(
                str(group["name"])
                for group in row.get(groups_key) or ()
                if visible(str(group["name"]))
            )
        ),
        tags=tags(row),
        inventory=tuple(
            (field, str(inventory[field])) for field in inventory_fields if inventory.get(field)
        ),
        interfaces=interfaces,
        enabled=str(row["status"]) == "0",
        in_maintenance=str(row.get("maintenance_status", "0")) == "1",
        available=host_availability(interfaces),
    )


def acknowledged_at(row: Mapping[str, Any]) -> datetime | None:
    """When a problem acknowledged now was first acknowledged, from its ``acknowledges``.

    The earliest update whose ``action`` has the acknowledge bit (2); ``None``
    when the problem is not acknowledged, or was read without its updates.

    >>> acknowledged_at({"acknowledged": "1", "acknowledges": [
    ...     {"clock": "1700000900", "action": "6"}, {"clock": "1700000500", "action": "4"},
    ...     {"clock": "1700000700", "action": "2"}]}).isoformat()
    '2023-11-14T22:25:00+00:00'
    """
    if str(row.get("acknowledged", "0")) != "1":
        return None
    clocks = [
        int(update["clock"])
        for update in row.get("acknowledges") or ()
        if int(update["action"]) & _ACTION_ACKNOWLEDGE
    ]
    return utc(min(clocks)) if clocks else None


def problem(row: Mapping[str, Any], hostid: str) -> Problem:
    """Parse a ``problem.get`` or problem ``event.get`` row, on ``hostid``."""
    return Problem(
        eventid=str(row["eventid"]),
        hostid=hostid,
        triggerid=str(row["objectid"]),
        name=str(row["name"]),
        severity=Severity(int(row["severity"])),
        since=utc(row["clock"]),
        acknowledged=str(row.get("acknowledged", "0")) == "1",
        suppressed=str(row.get("suppressed", "0")) == "1",
        tags=tags(row),
        acknowledged_at=acknowledged_at(row),
    )


def host_event(row: Mapping[str, Any], hostid: str, ended_at: datetime | None) -> HostEvent:
    """Parse a problem ``event.get`` (or ``problem.get``) row of host ``hostid``."""
    return HostEvent(
        eventid=str(row["eventid"]),
        hostid=hostid,
        name=str(row["name"]),
        severity=Severity(int(row["severity"])),
        started_at=utc(row["clock"]),
        ended_at=ended_at,
    )


def maintenance(row: Mapping[str, Any], hostids: Iterable[str]) -> Maintenance:
    """Parse a ``maintenance.get`` row; ``hostids`` are the hosts it covers."""
    return Maintenance(
        maintenanceid=str(row["maintenanceid"]),
        name=str(row["name"]),
        hostids=tuple(sorted(hostids, key=id_key)),
        active_since=utc(row["active_since"]),
        active_till=utc(row["active_till"]),
    )


def metric(row: Mapping[str, Any]) -> Metric:
    """Parse an ``item.get`` row; an item never collected has ``clock=None``."""
    clock = int(row.get("lastclock") or 0)
    return Metric(
        hostid=str(row["hostid"]),
        key=str(row["key_"]),
        name=str(row.get("name", "")),
        value=str(row.get("lastvalue", "")),
        units=str(row.get("units", "")),
        clock=utc(clock) if clock > 0 else None,
    )
