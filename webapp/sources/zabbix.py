"""Zabbix back-end of the :class:`~webapp.sources.base.MonitoringSource` contract.

This is the only module of Vigie that imports :mod:`pyzabbix`. It talks to one
Zabbix server (6.0 LTS, and later versions where the API differs only in the
spots handled below) shared by every member organisation; a member owns one or
more host groups and every read takes the member's group *names*.

Design
------
* **Lazy login.** Building a :class:`ZabbixSource` makes no network call. The
  first authenticated call runs ``pyzabbix.ZabbixAPI.login``, which detects the
  server version with ``apiinfo.version`` (pyzabbix then sends ``username`` to
  ``user.login`` on 5.4+, and the token as an ``Authorization: Bearer`` header
  on 6.4+ instead of the ``auth`` member of the JSON-RPC payload). With an API
  token no ``user.login`` is sent at all; a bad token shows up on the first
  real call as ``Not authorised``. With a user and password, a session that
  the server terminated is re-opened once, transparently.
* **Batched calls.** Every read takes all requested groups at once: one call
  per Zabbix object type, whatever the number of groups (see the table in
  :class:`ZabbixSource`).
* **Caches.** Group names -> ids, trigger dependencies and probe counts are
  cached for ``cache_ttl`` seconds (300 by default); the trigger -> host map
  is kept until :meth:`ZabbixSource.refresh` since a trigger never changes
  host. ``refresh()`` drops everything.
* **Errors.** ``requests`` connection errors, timeouts and HTTP 5xx raise
  :class:`SourceUnavailable`. A JSON-RPC error (bad token, invalid params,
  missing permission) raises :class:`SourceError` carrying Zabbix's message.
  A payload that is not the JSON-RPC answer we expect (HTML page served with
  HTTP 200, empty body, missing ``result``, objects lacking a field) raises
  :class:`SourceError`, *not* :class:`SourceUnavailable`: the server did
  answer, and the usual cause is a wrong ``ZABBIX_URL`` (pointing at a proxy
  or at the frontend root) or an incompatible version, which retrying will not
  fix. HTTP 4xx is a :class:`SourceError` for the same reason. No method ever
  returns an empty list to hide a failure.
* **Secrets.** pyzabbix logs whole request payloads (token, password) at
  DEBUG level; this module installs a filter on the ``pyzabbix.api`` logger
  that drops those records, and logs its own calls (method and duration).

All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

import logging
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Hashable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from typing import Any

import requests
from pyzabbix import ZabbixAPI
from pyzabbix import ZabbixAPIException

from webapp.sources.base import Availability
from webapp.sources.base import ChangeSet
from webapp.sources.base import Dependency
from webapp.sources.base import Host
from webapp.sources.base import HostGroup
from webapp.sources.base import Interface
from webapp.sources.base import Maintenance
from webapp.sources.base import Metric
from webapp.sources.base import Problem
from webapp.sources.base import Severity
from webapp.sources.base import SourceConfigError
from webapp.sources.base import SourceError
from webapp.sources.base import SourceUnavailable

__all__ = ["ZabbixSource"]

logger = logging.getLogger(__name__)

#: Trigger events (``source``) about triggers (``object``).
_EVENT_SOURCE_TRIGGER = 0
_EVENT_OBJECT_TRIGGER = 0

#: ``event.acknowledge`` action flags (Zabbix 6.0).
_ACK_CLOSE = 1
_ACK_ACKNOWLEDGE = 2
_ACK_MESSAGE = 4

#: Tag filter operator "exists" (item.get / event.get ``tags``).
_TAG_EXISTS = 4

_INTERFACE_TYPES = {"1": "agent", "2": "snmp", "3": "ipmi", "4": "jmx"}
_AVAILABILITY = {
    "0": Availability.UNKNOWN,
    "1": Availability.AVAILABLE,
    "2": Availability.UNAVAILABLE,
}

_TAG_FIELDS = ["tag", "value"]
_PROBLEM_FIELDS = ["eventid", "objectid", "name", "severity", "clock", "acknowledged", "suppressed"]
_ITEM_FIELDS = ["itemid", "hostid", "key_", "name", "lastvalue", "units", "lastclock"]

#: A re-login is attempted once when a password session hits one of these.
_SESSION_ERRORS = ("session terminated", "re-login", "not authorised", "not authorized")

#: The trigger -> hosts map is cleared when it grows past this many entries.
_TRIGGER_CACHE_MAX = 100_000

#: After a lookup of unknown group names, do not re-read host groups for this long.
_GROUP_MISS_GRACE = 30.0

#: Parsed hosts kept to be handed back for identical rows (see ZabbixSource._host_of).
_HOST_ROWS_MAX = 200_000

#: From this many host groups, :meth:`ZabbixSource.hosts` reads two halves at once.
_HOST_READ_SPLIT_GROUPS = 64


class _DropPayloadRecords(logging.Filter):
    """Drop pyzabbix's DEBUG records that print raw payloads (token, password)."""

    vigie_redaction = True

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in ("Sending: %s", "Response Body: %s")


_pyzabbix_logger = logging.getLogger("pyzabbix.api")
if not any(getattr(f, "vigie_redaction", False) for f in _pyzabbix_logger.filters):
    _pyzabbix_logger.addFilter(_DropPayloadRecords())


class _RpcError(SourceError):
    """A JSON-RPC error answer; kept apart to spot terminated sessions."""

    def __init__(self, method: str, code: Any, message: str, data: str) -> None:
        self.method = method
        self.code = code
        self.zabbix_message = message
        self.data = data
        detail = f"{message} {data}".strip() if data and data != "No data" else message
        super().__init__(f"Zabbix {method}: {detail}")

    @property
    def session_lost(self) -> bool:
        text = f"{self.zabbix_message} {self.data}".lower()
        return any(marker in text for marker in _SESSION_ERRORS)


def _truncate(text: str, size: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"


@contextmanager
def _translated(method: str) -> Iterator[None]:
    """Turn transport and JSON-RPC failures of one call into source errors."""
    try:
        yield
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        logger.warning("Zabbix %s: HTTP %s", method, status)
        if status is None or status >= 500:
            raise SourceUnavailable(f"Zabbix {method}: HTTP {status}") from exc
        raise SourceError(f"Zabbix {method}: HTTP {status}") from exc
    except (
        requests.ConnectionError,
        requests.Timeout,
        requests.exceptions.ChunkedEncodingError,
    ) as exc:
        logger.debug("Zabbix %s: unreachable (%s)", method, exc.__class__.__name__)
        raise SourceUnavailable(f"Zabbix {method}: {exc.__class__.__name__}: {exc}") from exc
    except requests.RequestException as exc:
        logger.debug("Zabbix %s: request failed (%s)", method, exc)
        raise SourceError(f"Zabbix {method}: {exc.__class__.__name__}: {exc}") from exc
    except ZabbixAPIException as exc:
        error = exc.error
        if isinstance(error, dict):
            rpc = _RpcError(
                method,
                error.get("code"),
                str(error.get("message", "")),
                str(error.get("data", "")),
            )
            logger.warning("%s", rpc)
            raise rpc from exc
        # pyzabbix raises without ``error`` for an empty body or invalid JSON.
        logger.warning("Zabbix %s: malformed response: %s", method, _truncate(str(exc)))
        raise SourceError(f"Zabbix {method}: malformed response: {_truncate(str(exc))}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        # pyzabbix indexing a JSON document that is not a JSON-RPC object.
        logger.warning("Zabbix %s: malformed response (%r)", method, exc)
        raise SourceError(f"Zabbix {method}: malformed response ({exc!r})") from exc


@contextmanager
def _parsing(method: str) -> Iterator[None]:
    """Turn a missing key or a wrong type in an API answer into :class:`SourceError`."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError) as exc:
        logger.warning("Zabbix %s: unexpected answer (%r)", method, exc)
        raise SourceError(f"Zabbix {method}: unexpected answer ({exc!r})") from exc


def _rows(result: Any, method: str) -> list[dict[str, Any]]:
    """Check that ``result`` is a list of objects."""
    if not isinstance(result, list) or not all(isinstance(row, dict) for row in result):
        kind = type(result).__name__
        raise SourceError(f"Zabbix {method}: expected a list of objects, got {kind}")
    return result


def _id_key(value: str) -> tuple[int, str]:
    """Sort key putting numeric id strings in numeric order."""
    return (len(value), value)


def _collation_key(name: str) -> tuple[str, str]:
    """Sort key close to a database collation: accents and case count last."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return bare.casefold(), name


def _utc(clock: Any) -> datetime:
    """Convert a Zabbix unix ``clock`` (string or int) to an aware UTC datetime."""
    return datetime.fromtimestamp(int(clock), tz=UTC)


def _tags(row: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((str(tag["tag"]), str(tag.get("value", ""))) for tag in row.get("tags") or ())


def _names(groups: Iterable[str]) -> list[str]:
    """Deduplicate group names, keeping order; a lone string is one name."""
    if isinstance(groups, str):
        groups = [groups]
    return list(dict.fromkeys(str(name) for name in groups))


def _host_availability(interfaces: Iterable[Interface]) -> Availability:
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
    ``problems``        1 ``problem.get`` + 1 ``trigger.get`` for triggers not
                        seen before (0 once warm)
    ``dependencies``    0 within the TTL, else 1 ``trigger.get`` + 1
                        ``trigger.get`` for unseen dependency triggers
    ``maintenances``    1 ``host.get`` + 1 ``maintenance.get`` (0 if no host is
                        in maintenance)
    ``probe_counts``    0 within the TTL, else 1 ``host.get`` + 1 ``item.get``
    ``last_values``     2 ``item.get`` (key prefixes, ``vigie:key`` tag)
    ``changes(None)``   1 ``event.get`` + the cost of ``problems()``
    ``changes(cursor)`` 1 ``event.get`` + 1 ``event.get`` if something recovered
    ``acknowledge``     1 ``event.acknowledge``
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
        self._token = token
        self._user = user
        self._password = password
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()
        self._api = ZabbixAPI(url, session=self._session, timeout=timeout)
        self._logged_in = False
        self._login_generation = 0  # logins so far (see _call)
        self._lock = threading.RLock()
        self._cache: dict[Hashable, tuple[float, Any]] = {}
        self._acked: int | None = None  # acknowledged problems at the last full read
        self.calls = 0  # API calls sent (poll statistics)
        self.call_time_s = 0.0  # wall-clock seconds spent in them, summed over threads
        self._trigger_hosts_map: dict[str, tuple[str, ...]] = {}
        self._host_rows: dict[str, tuple[Mapping[str, Any], Host]] = {}  # see _host_of
        self._groups_read_at = float("-inf")
        self._groups_lock = threading.Lock()

    def __repr__(self) -> str:
        auth = "token" if self._token is not None else f"user={self._user!r}"
        return f"<ZabbixSource {self.url!r} {auth}>"

    # -- plumbing -----------------------------------------------------------------------

    def _ensure_login(self) -> None:
        with self._lock:
            if self._logged_in:
                return
            with _translated("user.login"):
                if self._token is not None:
                    self._api.login(api_token=self._token)
                else:
                    self._api.login(self._user or "", self._password or "")
            self._logged_in = True
            self._login_generation += 1
            logger.info("Logged in to Zabbix %s at %s", self._api.version, self._api.url)

    def _send(self, method: str, params: Mapping[str, Any] | None) -> Any:
        with self._lock:
            self.calls += 1
        started = time.perf_counter()
        try:
            with _translated(method):
                response = self._api.do_request(method, dict(params or {}))
        finally:
            elapsed = time.perf_counter() - started
            with self._lock:
                self.call_time_s += elapsed
        logger.debug("Zabbix %s answered in %.1f ms", method, elapsed * 1e3)
        if not isinstance(response, dict) or "result" not in response:
            raise SourceError(f"Zabbix {method}: malformed response (no 'result' member)")
        return response["result"]

    def _call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """Send one authenticated call, re-opening a lost password session once."""
        self._ensure_login()
        generation = self._login_generation
        try:
            return self._send(method, params)
        except _RpcError as exc:
            if self._token is not None or not exc.session_lost:
                raise
            with self._lock:
                # Calls run in two threads: log in again only if no other call has since.
                if self._login_generation == generation:
                    logger.info("Zabbix session lost (%s); logging in again", exc)
                    self._logged_in = False
            self._ensure_login()
            return self._send(method, params)

    def _cached(self, key: Hashable) -> Any | None:
        with self._lock:
            entry = self._cache.get(key)
            if entry is None:
                return None
            expires, value = entry
            if time.monotonic() >= expires:
                del self._cache[key]
                return None
            return value

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
        ids = groupids if groupids is not None else sorted(index.values(), key=_id_key)
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
            dict.fromkeys(_names(groups), 0)
            if groups is not None
            else dict.fromkeys((names[i] for i in ids if i in names), 0)
        )
        with _parsing("item.get"):
            for row in rows:
                name = names.get(str(row["groupid"]))
                if name is not None:
                    counts[name] = int(row["rowscount"])
        return counts

    def _store(self, key: Hashable, value: Any) -> None:
        if self.cache_ttl > 0:
            with self._lock:
                self._cache[key] = (time.monotonic() + self.cache_ttl, value)

    def _at_least(self, major: int, minor: int) -> bool:
        version = self._api.version
        return version is not None and tuple(version.release[:2]) >= (major, minor)

    def _groups_select(self) -> tuple[str, str]:
        """Return the host.get sub-select and result key of host groups.

        ``selectGroups``/``groups`` on 6.0; ``selectHostGroups``/``hostgroups``
        from 6.2, where template groups were split off (and ``selectGroups``
        later removed).
        """
        self._ensure_login()
        if self._at_least(6, 2):
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
        rows = _rows(self._call("hostgroup.get", params), "hostgroup.get")
        with _parsing("hostgroup.get"):
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
            return sorted(self._group_index().values(), key=_id_key)
        names = _names(groups)
        if not names:
            return []
        index = self._group_index()
        missing = [name for name in names if name not in index]
        if missing and time.monotonic() - self._groups_read_at > _GROUP_MISS_GRACE:
            index = self._read_groups()
            missing = [name for name in names if name not in index]
        if missing:
            logger.warning("Unknown or hidden Zabbix host groups ignored: %s", ", ".join(missing))
        return sorted({index[name] for name in names if name in index}, key=_id_key)

    def _trigger_hosts(self, triggerids: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """Return triggerid -> hostids, fetching unknown triggers in one ``trigger.get``."""
        wanted = set(triggerids)
        with self._lock:
            missing = sorted(wanted.difference(self._trigger_hosts_map), key=_id_key)
        if missing:
            rows = _rows(
                self._call(
                    "trigger.get",
                    {"output": ["triggerid"], "triggerids": missing, "selectHosts": ["hostid"]},
                ),
                "trigger.get",
            )
            with _parsing("trigger.get"):
                found = {
                    str(row["triggerid"]): tuple(
                        sorted((str(h["hostid"]) for h in row.get("hosts") or ()), key=_id_key)
                    )
                    for row in rows
                }
            self._remember_triggers(found)
        with self._lock:
            return {tid: self._trigger_hosts_map.get(tid, ()) for tid in wanted}

    def _remember_triggers(self, found: Mapping[str, tuple[str, ...]]) -> None:
        with self._lock:
            if len(self._trigger_hosts_map) + len(found) > _TRIGGER_CACHE_MAX:
                self._trigger_hosts_map.clear()
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
        result = self._send("apiinfo.version", None)
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
            "selectTags": _TAG_FIELDS,
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
        return sorted(unique.values(), key=lambda h: (_collation_key(h.name), _id_key(h.hostid)))

    def _host_part(
        self, params: Mapping[str, Any], groupids: list[str] | None, groups_key: str
    ) -> list[Host]:
        if groupids is not None:
            params = {**params, "groupids": groupids}
        rows = _rows(self._call("host.get", params), "host.get")
        with _parsing("host.get"):
            return [self._host_of(row, groups_key) for row in rows]

    def _host_of(self, row: Mapping[str, Any], groups_key: str) -> Host:
        """Parse ``row``, or return the :class:`Host` parsed from an identical row before.

        At 4,000 hosts, comparing raw rows costs a tenth of parsing them, and handing
        back the same objects lets the poller see at once that nothing changed.
        """
        hostid = str(row["hostid"])
        seen = self._host_rows.get(hostid)
        if seen is not None and seen[0] == row:
            return seen[1]
        host = self._parse_host(row, groups_key)
        if len(self._host_rows) >= _HOST_ROWS_MAX:
            self._host_rows.clear()  # bounded: hosts come and go over months
        self._host_rows[hostid] = (row, host)
        return host

    def _parse_host(self, row: Mapping[str, Any], groups_key: str) -> Host:
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
                    if self._visible(str(group["name"]))
                )
            ),
            tags=_tags(row),
            inventory=tuple(
                (field, str(inventory[field]))
                for field in self.INVENTORY_FIELDS
                if inventory.get(field)
            ),
            interfaces=interfaces,
            enabled=str(row["status"]) == "0",
            in_maintenance=str(row.get("maintenance_status", "0")) == "1",
            available=_host_availability(interfaces),
        )

    def problems(self, groups: Iterable[str] | None = None) -> list[Problem]:
        """Return the unresolved problems of the groups' hosts, oldest first.

        ``problem.get`` with ``recent: false`` only returns unresolved problems
        (it is also what suppression and acknowledgement apply to), so no
        ``trigger.get`` with ``filter: {value: 1}`` is needed: that filter
        would even drop problems still open while their trigger is OK (manual
        close, tag correlation). The trigger -> host map comes from one batched
        ``trigger.get`` for triggers never seen before. A trigger spanning
        several hosts is reported on the lowest host id.

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
            "output": _PROBLEM_FIELDS,
            "source": _EVENT_SOURCE_TRIGGER,
            "object": _EVENT_OBJECT_TRIGGER,
            "recent": False,
            "selectTags": _TAG_FIELDS,
            "sortfield": ["eventid"],
            "sortorder": "ASC",
        }
        if groupids is not None:
            params["groupids"] = groupids
        rows = _rows(self._call("problem.get", params), "problem.get")
        with _parsing("problem.get"):
            triggerids = {str(row["objectid"]) for row in rows}
        hosts = self._trigger_hosts(triggerids) if triggerids else {}
        problems = []
        with _parsing("problem.get"):
            for row in rows:
                triggerid = str(row["objectid"])
                if not hosts.get(triggerid):
                    logger.warning(
                        "Zabbix problem %s: trigger %s has no host (deleted?); skipped",
                        row["eventid"],
                        triggerid,
                    )
                    continue
                problems.append(self._problem(row, hosts[triggerid][0]))
        problems.sort(key=lambda p: (p.since, _id_key(p.eventid)))
        return problems

    @staticmethod
    def _problem(row: Mapping[str, Any], hostid: str) -> Problem:
        return Problem(
            eventid=str(row["eventid"]),
            hostid=hostid,
            triggerid=str(row["objectid"]),
            name=str(row["name"]),
            severity=Severity(int(row["severity"])),
            since=_utc(row["clock"]),
            acknowledged=str(row.get("acknowledged", "0")) == "1",
            suppressed=str(row.get("suppressed", "0")) == "1",
            tags=_tags(row),
        )

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
        rows = _rows(self._call("trigger.get", params), "trigger.get")
        with _parsing("trigger.get"):
            edges = [
                (
                    tuple(str(h["hostid"]) for h in row.get("hosts") or ()),
                    [str(dep["triggerid"]) for dep in row.get("dependencies") or ()],
                )
                for row in rows
            ]
            own = {
                str(row["triggerid"]): tuple(sorted(hosts, key=_id_key))
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
            for hostid, parent in sorted(pairs, key=lambda p: (_id_key(p[0]), _id_key(p[1])))
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
        rows = _rows(self._call("host.get", params), "host.get")
        by_maintenance: dict[str, set[str]] = {}
        with _parsing("host.get"):
            for row in rows:
                maintenanceid = str(row["maintenanceid"])
                if maintenanceid not in ("", "0"):
                    by_maintenance.setdefault(maintenanceid, set()).add(str(row["hostid"]))
        if not by_maintenance:
            return []
        rows = _rows(
            self._call(
                "maintenance.get",
                {
                    "output": ["maintenanceid", "name", "active_since", "active_till"],
                    "maintenanceids": sorted(by_maintenance, key=_id_key),
                },
            ),
            "maintenance.get",
        )
        with _parsing("maintenance.get"):
            result = [
                Maintenance(
                    maintenanceid=str(row["maintenanceid"]),
                    name=str(row["name"]),
                    hostids=tuple(
                        sorted(by_maintenance.get(str(row["maintenanceid"]), ()), key=_id_key)
                    ),
                    active_since=_utc(row["active_since"]),
                    active_till=_utc(row["active_till"]),
                )
                for row in rows
            ]
        return sorted(result, key=lambda m: (m.name, _id_key(m.maintenanceid)))

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
            return dict.fromkeys(_names(groups or ()), 0)
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
        host_rows = _rows(self._call("host.get", host_params), "host.get")
        item_rows = _rows(self._call("item.get", item_params), "item.get")
        with _parsing("item.get"):
            per_host = Counter(str(row["hostid"]) for row in item_rows)
        wanted = None if groupids is None else set(groupids)
        counts: dict[str, int] = {}
        if groups is not None:
            counts = dict.fromkeys(_names(groups), 0)
        elif self.groups_prefix is not None:
            counts = dict.fromkeys(self._group_index(), 0)
        with _parsing("host.get"):
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
        ids = sorted({str(hostid) for hostid in hostids}, key=_id_key)
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
        rows = _rows(
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
            rows = rows + _rows(
                self._call(
                    "item.get",
                    {**base, "tags": [{"tag": self.METRIC_TAG, "operator": _TAG_EXISTS}]},
                ),
                "item.get",
            )
        metrics: dict[str, Metric] = {}
        with _parsing("item.get"):
            for row in rows:
                clock = int(row.get("lastclock") or 0)
                metrics[str(row["itemid"])] = Metric(
                    hostid=str(row["hostid"]),
                    key=str(row["key_"]),
                    name=str(row.get("name", "")),
                    value=str(row.get("lastvalue", "")),
                    units=str(row.get("units", "")),
                    clock=_utc(clock) if clock > 0 else None,
                )
        return sorted(metrics.values(), key=lambda m: (_id_key(m.hostid), m.key))

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
        read_at = datetime.now(UTC)
        if cursor is None:
            return self._full_changes(read_at)
        try:
            last = int(cursor)
            if last < 0:
                raise ValueError(cursor)
        except ValueError:
            logger.warning("Invalid Zabbix change cursor %r: full resync", cursor)
            return self._full_changes(read_at)
        groupids = self._resolve(None)
        if groupids == []:
            return ChangeSet(cursor=str(last), read_at=read_at)
        params: dict[str, Any] = {
            "output": _PROBLEM_FIELDS + ["value"],
            "source": _EVENT_SOURCE_TRIGGER,
            "object": _EVENT_OBJECT_TRIGGER,
            "value": [0, 1],
            "eventid_from": str(last + 1),
            "selectTags": _TAG_FIELDS,
            "selectHosts": ["hostid"],
            "sortfield": ["eventid"],
            "sortorder": "ASC",
            "limit": self.max_events + 1,
        }
        if groupids is not None:
            params["groupids"] = groupids
        rows = _rows(self._call("event.get", params), "event.get")
        if len(rows) > self.max_events:
            logger.info("More than %d Zabbix events since %s: full resync", self.max_events, last)
            return self._full_changes(read_at)
        opened: list[Problem] = []
        recoveries: list[Mapping[str, Any]] = []
        newest = last
        with _parsing("event.get"):
            seen: dict[str, tuple[str, ...]] = {}
            for row in rows:
                newest = max(newest, int(row["eventid"]))
                hosts = tuple(
                    sorted((str(h["hostid"]) for h in row.get("hosts") or ()), key=_id_key)
                )
                seen[str(row["objectid"])] = hosts
                if str(row["value"]) == "1":
                    if hosts:
                        opened.append(self._problem(row, hosts[0]))
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
        with _parsing("event.get"):
            recovery_ids = {str(row["eventid"]) for row in recoveries}
            triggerids = sorted({str(row["objectid"]) for row in recoveries}, key=_id_key)
            clocks = [int(row["clock"]) for row in recoveries]
        params = {
            "output": ["eventid", "r_eventid"],
            "source": _EVENT_SOURCE_TRIGGER,
            "object": _EVENT_OBJECT_TRIGGER,
            "value": 1,
            "objectids": triggerids,
            "problem_time_from": min(clocks),
            "problem_time_till": max(clocks),
            "eventid_till": max(recovery_ids, key=_id_key),
            "sortfield": ["eventid"],
            "sortorder": "ASC",
        }
        rows = _rows(self._call("event.get", params), "event.get")
        with _parsing("event.get"):
            return [
                str(row["eventid"])
                for row in rows
                if str(row.get("r_eventid", "0")) in recovery_ids
            ]

    def _full_changes(self, read_at: datetime) -> ChangeSet:
        rows = _rows(
            self._call(
                "event.get",
                {
                    "output": ["eventid"],
                    "source": _EVENT_SOURCE_TRIGGER,
                    "object": _EVENT_OBJECT_TRIGGER,
                    "sortfield": ["eventid"],
                    "sortorder": "DESC",
                    "limit": 1,
                },
            ),
            "event.get",
        )
        with _parsing("event.get"):
            cursor = str(rows[0]["eventid"]) if rows else "0"
        opened = tuple(self.problems(None))
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
        with self._lock:
            if self._logged_in and self._token is None:
                try:
                    self._send("user.logout", None)
                except SourceError as exc:
                    logger.info("Zabbix logout failed: %s", exc)
            self._logged_in = False
            if self._owns_session:
                self._session.close()
