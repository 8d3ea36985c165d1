"""Zabbix back-end of the :class:`~webapp.sources.base.MonitoringSource` contract.

It talks to one Zabbix server (6.0 LTS, and later versions where the API
differs only in the spots handled below) shared by every member organisation; a
member owns one or more host groups and every read takes the member's group
*names*. The package splits the work:

* :mod:`~webapp.sources.zabbix.transport`: the pyzabbix session, lazy login,
  re-login, timeouts, call counters, and failures turned into
  :class:`SourceUnavailable` / :class:`SourceError` (no method ever returns an
  empty list to hide a failure);
* :mod:`~webapp.sources.zabbix.parse`: API rows to our frozen dataclasses (a
  row lacking a field is a :class:`SourceError`);
* :mod:`~webapp.sources.zabbix.cursor`: the event cursor behind ``changes``;
* this module: which calls are sent, batched and cached.

Design
------
* **Batched calls.** Every read takes all requested groups at once: one call
  per Zabbix object type, whatever the number of groups (see the table in
  :class:`ZabbixSource`).
* **Caches.** Group names -> ids, trigger dependencies and probe counts are
  cached for ``cache_ttl`` seconds (300 by default) in a
  :class:`cachetools.TTLCache`; the trigger -> host map is kept until
  :meth:`ZabbixSource.refresh` since a trigger never changes host (a bounded
  :class:`cachetools.LRUCache`). ``refresh()`` drops everything. Reads run in
  two threads at once, so every cache is used under a lock.

All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Hashable
from collections.abc import Iterable
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import requests
from cachetools import LRUCache
from cachetools import TTLCache

from webapp.sources.base import ChangeSet
from webapp.sources.base import Dependency
from webapp.sources.base import Host
from webapp.sources.base import HostEvent
from webapp.sources.base import HostGroup
from webapp.sources.base import Maintenance
from webapp.sources.base import Metric
from webapp.sources.base import Problem
from webapp.sources.base import SourceConfigError
from webapp.sources.base import SourceError
from webapp.sources.base import as_utc
from webapp.sources.zabbix import parse
from webapp.sources.zabbix.cursor import EventCursor
from webapp.sources.zabbix.parse import ACKNOWLEDGE_FIELDS
from webapp.sources.zabbix.parse import EVENT_OBJECT_TRIGGER
from webapp.sources.zabbix.parse import EVENT_SOURCE_TRIGGER
from webapp.sources.zabbix.parse import TAG_FIELDS
from webapp.sources.zabbix.parse import id_key
from webapp.sources.zabbix.transport import Transport

__all__ = ["ZabbixSource"]

logger = logging.getLogger(__name__)

#: ``event.acknowledge`` action flags (Zabbix 6.0).
_ACK_CLOSE = 1
_ACK_ACKNOWLEDGE = 2
_ACK_MESSAGE = 4

#: Tag filter operator "exists" (item.get / event.get ``tags``).
_TAG_EXISTS = 4

_ITEM_FIELDS = ["itemid", "hostid", "key_", "name", "lastvalue", "units", "lastclock"]

#: Entries of the TTL cache (groups, and dependencies and probe counts per selection).
_TTL_CACHE_MAX = 1024

#: Triggers whose hosts are remembered (least recently used ones are dropped past it).
_TRIGGER_CACHE_MAX = 100_000

#: After a lookup of unknown group names, do not re-read host groups for this long.
_GROUP_MISS_GRACE = 30.0

#: Parsed hosts kept to be handed back for identical rows (see ZabbixSource._hosts_of).
_HOST_ROWS_MAX = 200_000

#: From this many host groups, :meth:`ZabbixSource.hosts` reads two halves at once.
_HOST_READ_SPLIT_GROUPS = 64

#: Problem events :meth:`ZabbixSource.host_events` reads at most (the newest ones).
HOST_EVENTS_MAX = 1000

_HOST_EVENT_FIELDS = ["eventid", "clock", "name", "severity", "r_eventid"]


class ZabbixSource:
    """Read Vigie's monitoring data from a Zabbix server through its JSON-RPC API.

    Parameters
    ----------
    url : str
        Zabbix frontend URL, with or without ``/api_jsonrpc.php``.
    token : str, optional
        API token (preferred). Either ``token`` or ``user`` and ``password``
        must be given (empty strings count as missing); with a token, user and
        password are ignored.
    user, password : str, optional
        Credentials for ``user.login`` when no token is used.
    timeout : float, default 10.0
        Connect and read timeout of every HTTP request, in seconds.
    session : requests.Session, optional
        Session to send requests with (proxies, CA bundle, tests' fake
        transport). pyzabbix adds its JSON-RPC headers to it, so do not share
        it with other clients. A private session is created (and closed by
        :meth:`close`) when omitted.
    groups_prefix : str, optional
        Only host groups whose name starts with this prefix (case-sensitive)
        are visible: ``host_groups()`` lists them, ``groups=None`` means all of
        them, and ``Host.groups`` only names them. Other group names given by
        callers are treated as unknown.
    cache_ttl : float, default 300.0
        Lifetime in seconds of the group, dependency and probe-count caches;
        ``0`` disables them.
    max_events : int, default 1000
        :meth:`changes` falls back to a full read when more events than this
        happened since the cursor.

    Raises
    ------
    SourceConfigError
        Without a token, nor a user and a password (nothing is sent then).

    Notes
    -----
    API calls per method, once logged in (the first authenticated call also
    sends ``apiinfo.version``, plus ``user.login`` with a password), and
    independent of the number of groups:

    ==================  ==========================================================
    ``version``         1 ``apiinfo.version`` (no login)
    ``host_groups``     1 ``hostgroup.get``
    ``hosts``           1 ``host.get`` (2 at once from 64 groups: see :meth:`hosts`)
    ``problems``        1 ``problem.get`` (with the acknowledgement updates) + 1
                        ``trigger.get`` for triggers not seen before (0 once warm)
    ``dependencies``    0 within the TTL, else 1 ``trigger.get`` + 1
                        ``trigger.get`` for unseen dependency triggers
    ``maintenances``    1 ``host.get`` + 1 ``maintenance.get`` (0 if no host is
                        in maintenance)
    ``probe_counts``    0 within the TTL, else 1 ``host.get`` + 1 ``item.get``
    ``last_values``     2 ``item.get`` (key prefixes, ``vigie:key`` tag)
    ``changes(None)``   1 ``event.get`` + the cost of ``problems()``
    ``changes(cursor)`` 1 ``event.get`` + 1 ``event.get`` if something recovered
    ``acknowledge``     1 ``event.acknowledge``
    ``host_events``     1 ``event.get`` + 1 ``problem.get`` + 1 ``event.get`` if
                        some of the problems ended
    ==================  ==========================================================

    Methods taking group names add one ``hostgroup.get`` when the name -> id
    cache is cold or a name is not in it (at most once per 30 s for names
    that really do not exist).

    Unknown group names are logged and ignored, like host groups without
    hosts: they select nothing. A misspelt group of one member must not take
    down a page that shows every member.
    """

    name = "zabbix"
    #: Calls may be sent from two threads at once (one ``requests`` session, whose
    #: connection pool is thread-safe): :func:`~webapp.live.snapshot.read_full`
    #: reads the hosts while it reads the rest.
    concurrent_reads = True

    #: Host inventory fields read by :meth:`hosts` (never ``extend``: it is dear).
    INVENTORY_FIELDS: tuple[str, ...] = ("type", "type_full")
    """Only what Vigie reads (role inference): at 4,000 hosts every extra field costs."""
    #: Item key prefixes returned by :meth:`last_values`.
    METRIC_KEY_PREFIXES: tuple[str, ...] = ("vfs.fs.size", "icmppingsec", "system.uptime", "net.if")
    #: Items carrying this tag are returned by :meth:`last_values` too (``None``: off).
    METRIC_TAG: str | None = "vigie:key"

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        session: requests.Session | None = None,
        groups_prefix: str | None = None,
        cache_ttl: float = 300.0,
        max_events: int = 1000,
    ) -> None:
        token, user = token or None, user or None  # empty settings count as unset
        if token is not None and (user is not None or password):
            logger.warning("Zabbix API token given: user and password are ignored")
            user = password = None
        if token is None and (user is None or password is None):
            raise SourceConfigError("ZabbixSource needs a token, or a user and a password")
        if max_events < 1:
            raise SourceConfigError("max_events must be at least 1")
        self.url = url
        self.timeout = timeout
        self.groups_prefix = groups_prefix or None
        self.cache_ttl = float(cache_ttl)
        self.max_events = int(max_events)
        self._transport = Transport(
            url, token=token, user=user, password=password, timeout=timeout, session=session
        )
        self._call = self._transport.call
        self._lock = threading.Lock()  # guards the caches below
        self._cache: TTLCache[Hashable, Any] = TTLCache(
            _TTL_CACHE_MAX, self.cache_ttl, timer=time.monotonic
        )
        self._trigger_hosts_map: LRUCache[str, tuple[str, ...]] = LRUCache(_TRIGGER_CACHE_MAX)
        self._host_rows: LRUCache[str, tuple[Mapping[str, Any], Host]] = LRUCache(_HOST_ROWS_MAX)
        self._groups_read_at = float("-inf")
        self._groups_lock = threading.Lock()
        self._events = EventCursor(
            self._call,
            max_events=self.max_events,
            groupids=lambda: self._resolve(None),
            problems=lambda: self.problems(None),
            remember_triggers=self._remember_triggers,
        )

    def __repr__(self) -> str:
        return f"<ZabbixSource {self.url!r} {self._transport.describe()}>"

    @property
    def calls(self) -> int:
        """API calls sent so far, failed ones too (poll statistics)."""
        return self._transport.calls

    @property
    def call_time_s(self) -> float:
        """Wall-clock seconds spent in API calls, summed over threads."""
        return self._transport.call_time_s

    @property
    def _api(self):  # the pyzabbix client (the bench wraps its do_request)
        return self._transport.api

    @property
    def _session(self) -> requests.Session:
        return self._transport.session

    # -- plumbing -----------------------------------------------------------------------

    def _cached(self, key: Hashable) -> Any | None:
        with self._lock:
            return self._cache.get(key)

    def _store(self, key: Hashable, value: Any) -> None:
        if self.cache_ttl > 0:
            with self._lock:
                self._cache[key] = value

    def _probe_counts_grouped(
        self, groupids: list[str] | None, groups: Iterable[str] | None
    ) -> dict[str, int] | None:
        """Enabled items per group in one ``item.get`` (``countOutput`` + ``groupCount``).

        Zabbix 6.0 groups the count by ``groupid`` when ``groupids`` is given:
        about 60 ms whatever the number of items, where listing 50,000 items
        takes seconds. Returns ``None`` if the answer has another shape (then
        the documented per-item listing is used).
        """
        index = self._group_index()
        ids = groupids if groupids is not None else sorted(index.values(), key=id_key)
        if not ids:
            return None
        rows = self._call(
            "item.get",
            {"countOutput": True, "groupCount": True, "monitored": True, "groupids": ids},
        )
        if not isinstance(rows, list) or any(
            not isinstance(row, dict) or "groupid" not in row for row in rows
        ):
            return None
        names = {groupid: name for name, groupid in index.items()}
        counts = (
            dict.fromkeys(parse.names(groups), 0)
            if groups is not None
            else dict.fromkeys((names[i] for i in ids if i in names), 0)
        )
        with parse.parsing("item.get"):
            for row in rows:
                name = names.get(str(row["groupid"]))
                if name is not None:
                    counts[name] = int(row["rowscount"])
        return counts

    def _groups_select(self) -> tuple[str, str]:
        """Return the host.get sub-select and result key of host groups.

        ``selectGroups``/``groups`` on 6.0; ``selectHostGroups``/``hostgroups``
        from 6.2, where template groups were split off (and ``selectGroups``
        later removed).
        """
        self._transport.ensure_login()
        if self._transport.at_least(6, 2):
            return "selectHostGroups", "hostgroups"
        return "selectGroups", "groups"

    def _visible(self, name: str) -> bool:
        return self.groups_prefix is None or name.startswith(self.groups_prefix)

    def _read_groups(self) -> dict[str, str]:
        """Fetch visible host groups (name -> id) and refresh the cache."""
        params: dict[str, Any] = {"output": ["groupid", "name"]}
        if self.groups_prefix:
            params["search"] = {"name": self.groups_prefix}
            params["startSearch"] = True
        rows = parse.rows(self._call("hostgroup.get", params), "hostgroup.get")
        with parse.parsing("hostgroup.get"):
            pairs = ((str(row["name"]), str(row["groupid"])) for row in rows)
            index = {name: groupid for name, groupid in pairs if self._visible(name)}
        with self._lock:
            self._groups_read_at = time.monotonic()
        self._store("groups", index)
        return index

    def _group_index(self) -> dict[str, str]:
        index = self._cached("groups")
        if index is not None:
            return index
        with self._groups_lock:  # two threads of a full read: one hostgroup.get
            index = self._cached("groups")
            return index if index is not None else self._read_groups()

    def _resolve(self, groups: Iterable[str] | None) -> list[str] | None:
        """Map group names to sorted group ids.

        Returns ``None`` for "no group filter" (``groups is None`` without a
        prefix) and ``[]`` when nothing can match, so callers skip the call.
        """
        if groups is None:
            if self.groups_prefix is None:
                return None
            return sorted(self._group_index().values(), key=id_key)
        names = parse.names(groups)
        if not names:
            return []
        index = self._group_index()
        missing = [name for name in names if name not in index]
        if missing and time.monotonic() - self._groups_read_at > _GROUP_MISS_GRACE:
            index = self._read_groups()
            missing = [name for name in names if name not in index]
        if missing:
            logger.warning("Unknown or hidden Zabbix host groups ignored: %s", ", ".join(missing))
        return sorted({index[name] for name in names if name in index}, key=id_key)

    def _trigger_hosts(self, triggerids: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """Return triggerid -> hostids, fetching unknown triggers in one ``trigger.get``."""
        wanted = set(triggerids)
        with self._lock:
            missing = sorted(wanted.difference(self._trigger_hosts_map), key=id_key)
        if missing:
            rows = parse.rows(
                self._call(
                    "trigger.get",
                    {"output": ["triggerid"], "triggerids": missing, "selectHosts": ["hostid"]},
                ),
                "trigger.get",
            )
            with parse.parsing("trigger.get"):
                found = {str(row["triggerid"]): parse.hostids(row) for row in rows}
            self._remember_triggers(found)
        with self._lock:
            return {tid: self._trigger_hosts_map.get(tid, ()) for tid in wanted}

    def _remember_triggers(self, found: Mapping[str, tuple[str, ...]]) -> None:
        with self._lock:
            self._trigger_hosts_map.update((tid, hosts) for tid, hosts in found.items() if hosts)

    # -- MonitoringSource ---------------------------------------------------------------

    def version(self) -> str:
        """Return the Zabbix API version (``apiinfo.version``, no login needed).

        Returns
        -------
        str
            For example ``"6.0.14"``.

        Raises
        ------
        SourceUnavailable
            The server cannot be reached.
        SourceError
            The answer is not a version string.
        """
        result = self._transport.send("apiinfo.version", None)
        if not isinstance(result, str):
            raise SourceError("Zabbix apiinfo.version: malformed response")
        return result

    def host_groups(self) -> list[HostGroup]:
        """Return every visible host group, sorted by name (always read fresh).

        Returns
        -------
        list of HostGroup
        """
        index = self._read_groups()
        return [HostGroup(groupid, name) for name, groupid in sorted(index.items())]

    def hosts(self, groups: Iterable[str] | None = None) -> list[Host]:
        """Return the hosts of the named host groups, sorted by visible name.

        One ``host.get`` with tags, the :attr:`INVENTORY_FIELDS` of the
        inventory, interfaces and groups; from 64 groups, two ``host.get`` on
        halves of the groups, sent at once. Rows identical to the previous read
        give back the same :class:`Host` objects. ``Host.available`` summarises the
        interfaces' ``available`` flags (any unavailable -> unavailable, else
        any available -> available, else unknown); ``last_data_at`` is not
        provided (it would cost an ``item.get``).

        Parameters
        ----------
        groups : iterable of str, optional
            Host group names; ``None`` for every visible group.

        Returns
        -------
        list of Host
        """
        groupids = self._resolve(groups)
        if groupids == []:
            return []
        groups_param, groups_key = self._groups_select()
        params: dict[str, Any] = {
            "output": ["hostid", "host", "name", "status", "maintenance_status"],
            "selectTags": TAG_FIELDS,
            "selectInventory": list(self.INVENTORY_FIELDS),
            "selectInterfaces": ["type", "ip", "dns", "port", "available"],
            groups_param: ["groupid", "name"],
        }
        if groupids is None or len(groupids) < _HOST_READ_SPLIT_GROUPS:
            # (No filter, no prefix: one call, which also sees groups created since.)
            hosts = self._host_part(params, groupids, groups_key)
        else:
            # Many groups: two host.get on halves of them, at once (the server answers
            # each in little more than half the time). A host in both halves comes twice.
            halves = [groupids[lane::2] for lane in range(2)]
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigie-host-get") as pool:
                other = pool.submit(self._host_part, params, halves[1], groups_key)
                hosts = self._host_part(params, halves[0], groups_key) + other.result()
        unique = {host.hostid: host for host in hosts}
        return sorted(
            unique.values(), key=lambda h: (parse.collation_key(h.name), id_key(h.hostid))
        )

    def _host_part(
        self, params: Mapping[str, Any], groupids: list[str] | None, groups_key: str
    ) -> list[Host]:
        if groupids is not None:
            params = {**params, "groupids": groupids}
        rows = parse.rows(self._call("host.get", params), "host.get")
        with parse.parsing("host.get"):
            return self._hosts_of(rows, groups_key)

    def _hosts_of(self, rows: list[dict[str, Any]], groups_key: str) -> list[Host]:
        """Parse ``rows``, handing back the :class:`Host` parsed from an identical row before.

        At 4,000 hosts, comparing raw rows costs a tenth of parsing them, and handing
        back the same objects lets the poller see at once that nothing changed.
        """
        hostids = [str(row["hostid"]) for row in rows]
        with self._lock:  # once per read: the two halves of hosts() run at once
            before = [self._host_rows.get(hostid) for hostid in hostids]
        hosts: list[Host] = []
        parsed: list[tuple[str, tuple[Mapping[str, Any], Host]]] = []
        for hostid, row, seen in zip(hostids, rows, before, strict=True):
            if seen is not None and seen[0] == row:
                hosts.append(seen[1])
                continue
            host = parse.host(row, groups_key, self.INVENTORY_FIELDS, self._visible)
            hosts.append(host)
            parsed.append((hostid, (row, host)))
        if parsed:
            with self._lock:
                self._host_rows.update(parsed)
        return hosts

    def problems(self, groups: Iterable[str] | None = None) -> list[Problem]:
        """Return the unresolved problems of the groups' hosts, oldest first.

        ``problem.get`` with ``recent: false`` only returns unresolved problems
        (it is also what suppression and acknowledgement apply to), so no
        ``trigger.get`` with ``filter: {value: 1}`` is needed: that filter
        would even drop problems still open while their trigger is OK (manual
        close, tag correlation). The trigger -> host map comes from one batched
        ``trigger.get`` for triggers never seen before. A trigger spanning
        several hosts is reported on the lowest host id. ``acknowledged_at``
        is the clock of the earliest acknowledge action among the problem's
        updates (``selectAcknowledges``, two fields of each).

        Parameters
        ----------
        groups : iterable of str, optional
            Host group names; ``None`` for every visible group.

        Returns
        -------
        list of Problem
        """
        groupids = self._resolve(groups)
        if groupids == []:
            return []
        params: dict[str, Any] = {
            "output": parse.PROBLEM_FIELDS,
            "source": EVENT_SOURCE_TRIGGER,
            "object": EVENT_OBJECT_TRIGGER,
            "recent": False,
            "selectTags": TAG_FIELDS,
            "selectAcknowledges": ACKNOWLEDGE_FIELDS,
            "sortfield": ["eventid"],
            "sortorder": "ASC",
        }
        if groupids is not None:
            params["groupids"] = groupids
        rows = parse.rows(self._call("problem.get", params), "problem.get")
        with parse.parsing("problem.get"):
            triggerids = {str(row["objectid"]) for row in rows}
        hosts = self._trigger_hosts(triggerids) if triggerids else {}
        problems = []
        with parse.parsing("problem.get"):
            for row in rows:
                triggerid = str(row["objectid"])
                if not hosts.get(triggerid):
                    logger.warning(
                        "Zabbix problem %s: trigger %s has no host (deleted?); skipped",
                        row["eventid"],
                        triggerid,
                    )
                    continue
                problems.append(parse.problem(row, hosts[triggerid][0]))
        problems.sort(key=lambda p: (p.since, id_key(p.eventid)))
        return problems

    def dependencies(self, groups: Iterable[str] | None = None) -> list[Dependency]:
        """Return host-level dependencies derived from trigger dependencies.

        One ``trigger.get`` (``dependent: true``, host triggers only) with the
        triggers' hosts and dependencies, plus one ``trigger.get`` for the
        hosts of dependency triggers never seen before. Pairs are
        deduplicated, self-dependencies dropped; the depended-on host may
        belong to another group (a shared router). Cached for ``cache_ttl``.

        Parameters
        ----------
        groups : iterable of str, optional
            Groups of the *dependent* hosts; ``None`` for every visible group.

        Returns
        -------
        list of Dependency
            Sorted by (hostid, depends_on).
        """
        groupids = self._resolve(groups)
        if groupids == []:
            return []
        key = ("dependencies", None if groupids is None else tuple(groupids))
        cached = self._cached(key)
        if cached is not None:
            return list(cached)
        params: dict[str, Any] = {
            "output": ["triggerid"],
            "selectHosts": ["hostid"],
            "selectDependencies": ["triggerid"],
            "dependent": True,
            "templated": False,
        }
        if groupids is not None:
            params["groupids"] = groupids
        rows = parse.rows(self._call("trigger.get", params), "trigger.get")
        with parse.parsing("trigger.get"):
            edges = [
                (
                    tuple(str(h["hostid"]) for h in row.get("hosts") or ()),
                    [str(dep["triggerid"]) for dep in row.get("dependencies") or ()],
                )
                for row in rows
            ]
            own = {
                str(row["triggerid"]): tuple(sorted(hosts, key=id_key))
                for row, (hosts, _) in zip(rows, edges, strict=True)
            }
        self._remember_triggers(own)
        depended = {dep for _, deps in edges for dep in deps}
        dep_hosts = self._trigger_hosts(depended) if depended else {}
        pairs = {
            (hostid, parent)
            for hosts, deps in edges
            for dep in deps
            for parent in dep_hosts.get(dep, ())
            for hostid in hosts
            if hostid != parent
        }
        result = tuple(
            Dependency(hostid, parent)
            for hostid, parent in sorted(pairs, key=lambda p: (id_key(p[0]), id_key(p[1])))
        )
        self._store(key, result)
        return list(result)

    def maintenances(self, groups: Iterable[str] | None = None) -> list[Maintenance]:
        """Return the maintenances in effect now on the groups' hosts.

        A maintenance's ``active_since``/``active_till`` only bound its
        validity; whether it is in effect now depends on its time periods
        (daily, weekly, monthly...). Rather than re-implement that schedule,
        this reads the server's verdict: one ``host.get`` for hosts with
        ``maintenance_status = 1`` (with their ``maintenanceid``), then one
        ``maintenance.get`` for those maintenances. ``hostids`` lists the
        requested groups' hosts under each maintenance.

        Parameters
        ----------
        groups : iterable of str, optional
            Host group names; ``None`` for every visible group.

        Returns
        -------
        list of Maintenance
            Sorted by name.
        """
        groupids = self._resolve(groups)
        if groupids == []:
            return []
        params: dict[str, Any] = {
            "output": ["hostid", "maintenanceid"],
            "filter": {"maintenance_status": "1"},
        }
        if groupids is not None:
            params["groupids"] = groupids
        rows = parse.rows(self._call("host.get", params), "host.get")
        by_maintenance: dict[str, set[str]] = {}
        with parse.parsing("host.get"):
            for row in rows:
                maintenanceid = str(row["maintenanceid"])
                if maintenanceid not in ("", "0"):
                    by_maintenance.setdefault(maintenanceid, set()).add(str(row["hostid"]))
        if not by_maintenance:
            return []
        rows = parse.rows(
            self._call(
                "maintenance.get",
                {
                    "output": ["maintenanceid", "name", "active_since", "active_till"],
                    "maintenanceids": sorted(by_maintenance, key=id_key),
                },
            ),
            "maintenance.get",
        )
        with parse.parsing("maintenance.get"):
            result = [
                parse.maintenance(row, by_maintenance.get(str(row["maintenanceid"]), ()))
                for row in rows
            ]
        return sorted(result, key=lambda m: (m.name, id_key(m.maintenanceid)))

    def probe_counts(self, groups: Iterable[str] | None = None) -> dict[str, int]:
        """Return the number of probes per host group name.

        A probe is an enabled item on a monitored host (``item.get`` with
        ``monitored: true``, which excludes disabled items, unmonitored hosts
        and templates; discovered items count, prototypes do not). Two calls
        whatever the number of groups: ``item.get`` returning only ``hostid``
        per item, and ``host.get`` for the monitored hosts' groups; items are
        counted per host, then per group (a host in two groups counts in
        both). This only uses documented parameters: ``selectItems: "count"``
        cannot filter on item status, and ``countOutput`` + ``groupCount`` is
        undocumented. Requested groups without hosts map to 0. Cached for
        ``cache_ttl``.

        Parameters
        ----------
        groups : iterable of str, optional
            Host group names; ``None`` for every visible group.

        Returns
        -------
        dict of str to int
        """
        groupids = self._resolve(groups)
        if groupids == []:
            return dict.fromkeys(parse.names(groups or ()), 0)
        key = ("probes", None if groupids is None else tuple(groupids))
        cached = self._cached(key)
        if cached is not None:
            return dict(cached)
        counted = self._probe_counts_grouped(groupids, groups)
        if counted is not None:
            self._store(key, dict(counted))
            return counted
        groups_param, groups_key = self._groups_select()
        host_params: dict[str, Any] = {
            "output": ["hostid"],
            groups_param: ["groupid", "name"],
            "filter": {"status": "0"},
        }
        item_params: dict[str, Any] = {"output": ["hostid"], "monitored": True}
        if groupids is not None:
            host_params["groupids"] = groupids
            item_params["groupids"] = groupids
        host_rows = parse.rows(self._call("host.get", host_params), "host.get")
        item_rows = parse.rows(self._call("item.get", item_params), "item.get")
        with parse.parsing("item.get"):
            per_host = Counter(str(row["hostid"]) for row in item_rows)
        wanted = None if groupids is None else set(groupids)
        counts: dict[str, int] = {}
        if groups is not None:
            counts = dict.fromkeys(parse.names(groups), 0)
        elif self.groups_prefix is not None:
            counts = dict.fromkeys(self._group_index(), 0)
        with parse.parsing("host.get"):
            for row in host_rows:
                for group in row.get(groups_key) or ():
                    name = str(group["name"])
                    if wanted is None:
                        if not self._visible(name):
                            continue
                    elif str(group["groupid"]) not in wanted:
                        continue
                    counts[name] = counts.get(name, 0) + per_host[str(row["hostid"])]
        self._store(key, dict(counts))
        return counts

    def last_values(self, hostids: Iterable[str]) -> list[Metric]:
        """Return the last values of the key items of the given hosts.

        Key items are enabled items whose key starts with one of
        :attr:`METRIC_KEY_PREFIXES`, or that carry the :attr:`METRIC_TAG`
        item tag: two ``item.get`` calls (a key search and a tag filter
        cannot be OR-ed in one), merged by item id. Items never collected
        have ``clock=None``. With ``groups_prefix``, hosts outside the
        visible groups are ignored.

        Parameters
        ----------
        hostids : iterable of str

        Returns
        -------
        list of Metric
            Sorted by host id, then key.
        """
        ids = sorted({str(hostid) for hostid in hostids}, key=id_key)
        if not ids:
            return []
        base: dict[str, Any] = {
            "output": _ITEM_FIELDS,
            "hostids": ids,
            "monitored": True,
        }
        if self.groups_prefix is not None:
            groupids = self._resolve(None)
            if not groupids:
                return []
            base["groupids"] = groupids
        rows = parse.rows(
            self._call(
                "item.get",
                {
                    **base,
                    "search": {"key_": list(self.METRIC_KEY_PREFIXES)},
                    "startSearch": True,
                    "searchByAny": True,
                },
            ),
            "item.get",
        )
        if self.METRIC_TAG:
            rows = rows + parse.rows(
                self._call(
                    "item.get",
                    {**base, "tags": [{"tag": self.METRIC_TAG, "operator": _TAG_EXISTS}]},
                ),
                "item.get",
            )
        metrics: dict[str, Metric] = {}
        with parse.parsing("item.get"):
            for row in rows:
                metrics[str(row["itemid"])] = parse.metric(row)
        return sorted(metrics.values(), key=lambda m: (id_key(m.hostid), m.key))

    def changes(self, cursor: str | None) -> ChangeSet:
        """Return what changed since ``cursor`` (the last trigger event id seen).

        With a cursor: one ``event.get`` of trigger events with ``eventid >
        cursor`` (problem *and* recovery events, ``value`` 1 and 0, in id
        order, with tags and hosts). Problem events become ``opened``. A
        recovery event does not name the problems it closes (one OK event can
        close several; only the problem events carry ``r_eventid``), so when
        there are recoveries a second ``event.get`` reads the problem events
        of those triggers that were open during the recoveries' time span
        (``problem_time_from``/``problem_time_till``) and keeps those whose
        ``r_eventid`` is one of the recoveries: they go to ``closed``.
        Apply ``opened`` before ``closed``: a short problem can be in both.

        Without a usable cursor (``None``, not a number) or when more than
        ``max_events`` happened since: a full set (``full=True``) with every
        current problem. The new cursor is read *before* the problems, so an
        event arriving in between shows up again in the next delta rather
        than being lost; consumers must treat ``opened`` idempotently.

        Acknowledgements and suppressions create no event, and problems of a
        deleted trigger vanish without a recovery event: resync periodically
        with ``cursor=None``.

        Parameters
        ----------
        cursor : str or None

        Returns
        -------
        ChangeSet
        """
        return self._events.changes(cursor)

    def host_events(self, hostid: str, since: datetime) -> list[HostEvent]:
        """Return the problems of ``hostid`` that started since ``since``, or are still open.

        One ``event.get`` of the host's problem events (trigger events,
        ``value`` 1) from ``since``, newest first, at most
        :data:`HOST_EVENTS_MAX` of them; one ``problem.get`` of the host's
        problems opened before ``since`` and still unresolved; then, if some of
        the events are resolved (``r_eventid``), one ``event.get`` of those
        recovery events for their clocks (``ended_at``). A resolved event
        whose recovery event is gone (housekeeping) is left out. With
        ``groups_prefix``, a host outside the visible groups has no events.

        Parameters
        ----------
        hostid : str
        since : datetime
            Naive: UTC.

        Returns
        -------
        list of HostEvent
            Newest first.
        """
        groupids = self._resolve(None)
        if groupids == []:
            return []
        hostid = str(hostid)
        # Clocks are whole seconds: clock >= since <=> clock >= ceil(since).
        time_from = math.ceil(as_utc(since).timestamp())
        base: dict[str, Any] = {
            "source": EVENT_SOURCE_TRIGGER,
            "object": EVENT_OBJECT_TRIGGER,
            "hostids": [hostid],
        }
        if groupids is not None:
            base["groupids"] = groupids
        events = parse.rows(
            self._call(
                "event.get",
                {
                    **base,
                    "output": _HOST_EVENT_FIELDS,
                    "value": 1,
                    "time_from": time_from,
                    "sortfield": ["clock", "eventid"],
                    "sortorder": "DESC",
                    "limit": HOST_EVENTS_MAX,
                },
            ),
            "event.get",
        )
        with parse.parsing("event.get"):
            recoveries = sorted({str(row["r_eventid"]) for row in events} - {"0", ""}, key=id_key)
        older = parse.rows(
            self._call(
                "problem.get",
                {
                    **base,
                    "output": ["eventid", "clock", "name", "severity"],
                    "recent": False,
                    "time_till": time_from - 1,
                },
            ),
            "problem.get",
        )
        ended: dict[str, datetime] = {}
        if recoveries:
            rows = parse.rows(
                self._call(
                    "event.get",
                    {
                        "output": ["eventid", "clock"],
                        "source": EVENT_SOURCE_TRIGGER,
                        "object": EVENT_OBJECT_TRIGGER,
                        "eventids": recoveries,
                    },
                ),
                "event.get",
            )
            with parse.parsing("event.get"):
                ended = {str(row["eventid"]): parse.utc(row["clock"]) for row in rows}
        found: dict[str, HostEvent] = {}
        with parse.parsing("event.get"):
            for row in events:
                recovery = str(row["r_eventid"])
                if recovery in ("0", ""):
                    found[str(row["eventid"])] = parse.host_event(row, hostid, None)
                elif recovery in ended:
                    found[str(row["eventid"])] = parse.host_event(row, hostid, ended[recovery])
                else:
                    logger.warning(
                        "Zabbix event %s: recovery event %s not found; left out",
                        row["eventid"],
                        recovery,
                    )
        with parse.parsing("problem.get"):
            for row in older:
                found.setdefault(str(row["eventid"]), parse.host_event(row, hostid, None))
        return sorted(found.values(), key=lambda e: (e.started_at, id_key(e.eventid)), reverse=True)

    # -- beyond the protocol ------------------------------------------------------------

    def acknowledge(self, eventids: Iterable[str], message: str, *, close: bool = False) -> None:
        """Acknowledge problems, with a message, and optionally close them.

        One ``event.acknowledge`` with action 2 (acknowledge) + 4 (add message,
        only when ``message`` is not blank) + 1 (close) when ``close``.
        Zabbix refuses the whole call if one event is not a problem event, is
        not writable for the API user, or (with ``close``) belongs to a trigger
        that does not allow manual closing.

        Parameters
        ----------
        eventids : iterable of str
            Problem event ids; nothing is sent when empty.
        message : str
        close : bool, default False

        Raises
        ------
        SourceError
            Zabbix refused the update (its message is kept).
        SourceUnavailable
            The server cannot be reached.
        """
        ids = list(dict.fromkeys(str(eventid) for eventid in eventids))
        if not ids:
            return
        action = _ACK_ACKNOWLEDGE
        params: dict[str, Any] = {"eventids": ids}
        if message.strip():
            action |= _ACK_MESSAGE
            params["message"] = message
        if close:
            action |= _ACK_CLOSE
        params["action"] = action
        self._call("event.acknowledge", params)
        logger.info("Acknowledged %d Zabbix event(s) (action %d)", len(ids), action)

    def refresh(self) -> None:
        """Drop every cache (groups, dependencies, probe counts, trigger hosts, host rows)."""
        with self._lock:
            self._cache.clear()
            self._trigger_hosts_map.clear()
            self._host_rows.clear()
            self._groups_read_at = float("-inf")

    def close(self) -> None:
        """Log out a password session and close the session this source created."""
        self._transport.close()
