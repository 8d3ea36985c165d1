"""The trigger event cursor of the Zabbix source: change sets since an event id.

:class:`EventCursor` does the work of
:meth:`~webapp.sources.zabbix.ZabbixSource.changes`; the source hands it its
authenticated call, its visible groups, its full problem read and its
trigger -> hosts memory.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from typing import Any

from webapp.sources.base import ChangeSet
from webapp.sources.base import Problem
from webapp.sources.base import SourceError
from webapp.sources.zabbix import parse
from webapp.sources.zabbix.parse import EVENT_OBJECT_TRIGGER
from webapp.sources.zabbix.parse import EVENT_SOURCE_TRIGGER

__all__ = ["EventCursor"]

logger = logging.getLogger(__name__)


def _parse_cursor(cursor: str) -> int | None:
    """Return the event id of a cursor, ``None`` when it is not a usable one."""
    try:
        last = int(cursor)
    except ValueError:
        return None
    return last if last >= 0 else None


class EventCursor:
    """Change sets of trigger events, since the last event id seen.

    Parameters
    ----------
    call : callable
        ``call(method, params)`` sends one authenticated JSON-RPC call.
    max_events : int
        More events than this since the cursor mean a full read.
    groupids : callable
        Returns the visible group ids (``None``: no filter, ``[]``: nothing).
    problems : callable
        Returns every current problem of the visible groups.
    remember_triggers : callable
        Records the triggerid -> hostids pairs the events show.
    """

    def __init__(
        self,
        call: Callable[[str, Mapping[str, Any]], Any],
        *,
        max_events: int,
        groupids: Callable[[], list[str] | None],
        problems: Callable[[], list[Problem]],
        remember_triggers: Callable[[Mapping[str, tuple[str, ...]]], None],
    ) -> None:
        self.max_events = max_events
        self._call = call
        self._groupids = groupids
        self._problems = problems
        self._remember_triggers = remember_triggers
        self._acked: int | None = None  # acknowledged problems at the last full read

    def changes(self, cursor: str | None) -> ChangeSet:
        """Return what changed since ``cursor`` (see ``ZabbixSource.changes``)."""
        read_at = datetime.now(UTC)
        if cursor is None:
            return self._full_changes(read_at)
        last = _parse_cursor(cursor)
        if last is None:
            logger.warning("Invalid Zabbix change cursor %r: full resync", cursor)
            return self._full_changes(read_at)
        groupids = self._groupids()
        if groupids == []:
            return ChangeSet(cursor=str(last), read_at=read_at)
        params: dict[str, Any] = {
            "output": parse.PROBLEM_FIELDS + ["value"],
            "source": EVENT_SOURCE_TRIGGER,
            "object": EVENT_OBJECT_TRIGGER,
            "value": [0, 1],
            "eventid_from": str(last + 1),
            "selectTags": parse.TAG_FIELDS,
            "selectHosts": ["hostid"],
            "sortfield": ["eventid"],
            "sortorder": "ASC",
            "limit": self.max_events + 1,
        }
        if groupids is not None:
            params["groupids"] = groupids
        rows = parse.rows(self._call("event.get", params), "event.get")
        if len(rows) > self.max_events:
            logger.info("More than %d Zabbix events since %s: full resync", self.max_events, last)
            return self._full_changes(read_at)
        opened: list[Problem] = []
        recoveries: list[Mapping[str, Any]] = []
        newest = last
        with parse.parsing("event.get"):
            seen: dict[str, tuple[str, ...]] = {}
            for row in rows:
                newest = max(newest, int(row["eventid"]))
                hosts = parse.hostids(row)
                seen[str(row["objectid"])] = hosts
                if str(row["value"]) == "1":
                    if hosts:
                        opened.append(parse.problem(row, hosts[0]))
                    else:
                        logger.warning("Zabbix event %s has no host; skipped", row["eventid"])
                else:
                    recoveries.append(row)
            self._remember_triggers(seen)
        if not rows and self._ack_changed(groupids):
            return self._full_changes(read_at)
        closed = self._closed_by(recoveries) if recoveries else []
        return ChangeSet(
            cursor=str(newest),
            opened=tuple(opened),
            closed=tuple(closed),
            full=False,
            read_at=read_at,
        )

    def _closed_by(self, recoveries: list[Mapping[str, Any]]) -> list[str]:
        """Return the problem event ids closed by the given recovery events."""
        with parse.parsing("event.get"):
            recovery_ids = {str(row["eventid"]) for row in recoveries}
            triggerids = sorted({str(row["objectid"]) for row in recoveries}, key=parse.id_key)
            clocks = [int(row["clock"]) for row in recoveries]
        params = {
            "output": ["eventid", "r_eventid"],
            "source": EVENT_SOURCE_TRIGGER,
            "object": EVENT_OBJECT_TRIGGER,
            "value": 1,
            "objectids": triggerids,
            "problem_time_from": min(clocks),
            "problem_time_till": max(clocks),
            "eventid_till": max(recovery_ids, key=parse.id_key),
            "sortfield": ["eventid"],
            "sortorder": "ASC",
        }
        rows = parse.rows(self._call("event.get", params), "event.get")
        with parse.parsing("event.get"):
            return [
                str(row["eventid"])
                for row in rows
                if str(row.get("r_eventid", "0")) in recovery_ids
            ]

    def _full_changes(self, read_at: datetime) -> ChangeSet:
        rows = parse.rows(
            self._call(
                "event.get",
                {
                    "output": ["eventid"],
                    "source": EVENT_SOURCE_TRIGGER,
                    "object": EVENT_OBJECT_TRIGGER,
                    "sortfield": ["eventid"],
                    "sortorder": "DESC",
                    "limit": 1,
                },
            ),
            "event.get",
        )
        with parse.parsing("event.get"):
            cursor = str(rows[0]["eventid"]) if rows else "0"
        opened = tuple(self._problems())
        self._acked = sum(1 for problem in opened if problem.acknowledged)
        return ChangeSet(cursor=cursor, opened=opened, full=True, read_at=read_at)

    def _ack_changed(self, groupids: list[str] | None) -> bool:
        """Acknowledgements create no event: compare the count of acknowledged problems.

        One ``problem.get`` with ``countOutput`` (cheap); a different count
        since the last full read means someone acknowledged (or unacknowledged)
        a problem, in Zabbix or elsewhere.
        """
        if self._acked is None:  # no full read yet to compare with
            return False
        params: dict[str, Any] = {"countOutput": True, "acknowledged": True, "recent": False}
        if groupids is not None:
            params["groupids"] = groupids
        answer = self._call("problem.get", params)
        try:
            count = int(answer)
        except (TypeError, ValueError):
            raise SourceError(f"Zabbix problem.get: unexpected count {answer!r}") from None
        return count != self._acked
