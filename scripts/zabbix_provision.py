"""Provision the development Zabbix with Vigie's demo estate, through the API (idempotent).

Run by ``scripts/zabbix.sh up`` (``make zabbix-up``) with the project's virtualenv::

    .venv/bin/python scripts/zabbix_provision.py --url http://127.0.0.1:8089/api_jsonrpc.php \\
        --env-file /var/tmp/vigie-zabbix/vigie.env [--scale 300 --items 50000]

What it creates, as Zabbix's default ``Admin`` (the development server keeps it):

* one host group ``Membres/<slug>`` per member of :class:`webapp.sources.demo.DemoSource`
  (same seed, same members), and in them the demo's hosts with the same technical and
  visible names, host tags ``role``/``site``/``parent`` and inventory ``type``/``location``,
  so that Vigie draws the same maps on this Zabbix as on the demo source;
* trapper items (values come from ``zabbix_sender``): ``icmp.ok`` (1 answers, 0 does not)
  on every host, ``icmppingsec`` and ``system.uptime`` (shown by Vigie), free disk space
  ``vfs.fs.size[/,pfree]`` on servers and NAS, ``cpu.load`` on servers, ``toner.level`` on
  printers, then plain ``vigie.probe[N]`` items so that each member has as many probes as
  in the demo (or ``--items`` in all);
* triggers of every severity: link/box down (disaster), host or camera not answering
  (high), CPU load (average), disk space (warning), toner (information); the ``icmp.ok``
  trigger of a host depends on its parent's (camera -> switch -> router -> box);
* the least-privileged API account Vigie uses: user ``vigie`` in user group ``Vigie API``
  (read on the member groups only, no frontend access) with role ``Vigie API`` (API
  allow-list of the methods :class:`webapp.sources.zabbix.ZabbixSource` calls, actions
  limited to acknowledging and commenting problems), and an API token for it, written
  with the URL to ``--env-file`` (kept while it still works).

It also writes ``--values-file``: one ``zabbix_sender -i`` line per key item with a first,
healthy value (``scripts/zabbix.sh`` sends it after reloading the server's configuration).

Existing objects are found by name and brought back to the wanted state; a second run
creates nothing. The calls are batched (arrays of objects), so ``--scale 300 --items
50000`` takes a few minutes, not hours.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import secrets
import sys
import time
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import requests
import tenacity
from dotenv import dotenv_values
from pyzabbix import ZabbixAPI
from pyzabbix import ZabbixAPIException

from webapp.sources.base import Host
from webapp.sources.demo import GROUP_PREFIX
from webapp.sources.demo import INCIDENTS
from webapp.sources.demo import ROLE_PROFILE
from webapp.sources.demo import DemoSource

logger = logging.getLogger("zabbix_provision")

DEFAULT_URL = "http://127.0.0.1:8089/api_jsonrpc.php"
BATCH = 1000
RETRY_FOR = 120.0
TRANSIENT_ERRORS = (
    "error connecting to database",
    "database version does not match",
    "sql statement execution has failed",
    "server closed the connection",
    "database error",
    "your database is not working properly",
)

USER = "vigie"
USER_GROUP = "Vigie API"
ROLE = "Vigie API"
TOKEN_NAME = "vigie-dev"
TOKEN_DESCRIPTION = "Jeton de Vigie (développement), écrit par scripts/zabbix_provision.py"

#: The methods ZabbixSource calls (user.login and apiinfo.version need no permission).
API_METHODS = (
    "hostgroup.get",
    "host.get",
    "item.get",
    "trigger.get",
    "problem.get",
    "event.get",
    "maintenance.get",
    "event.acknowledge",
    "user.logout",
)
#: Role actions granted; every other action is denied (``actions.default_access = 0``).
ACTIONS = ("actions.acknowledge_problems", "actions.add_problem_comments")
#: Zabbix requires one UI element enabled in a role; the user group disables the frontend anyway.
UI_ELEMENT = "monitoring.problems"

ITEM_TRAPPER = 2
VALUE_FLOAT = 0
VALUE_UNSIGNED = 3
INTERFACE_AGENT = 1
INTERFACE_SNMP = 2
PERMISSION_READ = 2
GUI_ACCESS_DISABLED = 3
TRIGGER_SEVERITY = {"information": 1, "warning": 2, "average": 3, "high": 4, "disaster": 5}


@dataclass(frozen=True, slots=True)
class ItemSpec:
    """A trapper item to create on a host."""

    key: str
    name: str
    value_type: int
    units: str = ""
    history: str = "7d"
    trends: str = "30d"
    tags: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class TriggerSpec:
    """A trigger on one item of one host (``{item}`` is replaced by the item reference)."""

    description: str
    expression: str
    severity: int
    scope: str
    key: str


@dataclass(slots=True)
class Stats:
    """What a run created, per object type."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, count: int, *, updated: bool = False) -> None:
        target = self.updated if updated else self.created
        if count:
            target[kind] = target.get(kind, 0) + count

    def summary(self) -> str:
        created = ", ".join(f"{n} {k}" for k, n in self.created.items()) or "nothing"
        updated = ", ".join(f"{n} {k}" for k, n in self.updated.items())
        return f"created {created}" + (f"; updated {updated}" if updated else "")


# -- the estate -----------------------------------------------------------------------------------

ICMP_OK = ItemSpec("icmp.ok", "Réponse au ping", VALUE_UNSIGNED, history="7d")
LATENCY = ItemSpec("icmppingsec", "Latence", VALUE_FLOAT, "ms")
UPTIME = ItemSpec("system.uptime", "Durée de fonctionnement", VALUE_UNSIGNED, "s")
DISK = ItemSpec("vfs.fs.size[/,pfree]", "Espace disque libre", VALUE_FLOAT, "%")
CPU = ItemSpec("cpu.load", "Charge processeur", VALUE_FLOAT, tags=(("vigie:key", "cpu.load"),))
TONER = ItemSpec(
    "toner.level", "Niveau de toner", VALUE_UNSIGNED, "%", tags=(("vigie:key", "toner.level"),)
)


def _wording(kind: str) -> str:
    """The demo's problem wording with Zabbix's host-name macro."""
    return INCIDENTS[kind][0].replace("{name}", "{HOST.NAME}")


def key_items(role: str) -> list[ItemSpec]:
    """Items with a meaning (and a first value) for a host of ``role``."""
    items = [ICMP_OK, LATENCY, UPTIME]
    if role in ("server", "nas"):
        items.append(DISK)
    if role == "server":
        items.append(CPU)
    if role == "printer":
        items.append(TONER)
    return items


def triggers_for(role: str) -> list[TriggerSpec]:
    """Triggers of a host of ``role``; the first one is its availability trigger."""
    kind = ROLE_PROFILE.get(role, (0, 0.0, None))[2]
    if kind in ("link_down", "camera_down"):
        down = _wording(kind)
    else:
        down = _wording("host_down")
    severity = TRIGGER_SEVERITY["disaster" if kind == "link_down" else "high"]
    triggers = [TriggerSpec(down, "last({item})=0", severity, "availability", ICMP_OK.key)]
    if role in ("server", "nas"):
        triggers.append(
            TriggerSpec(
                "Espace disque faible sur {HOST.NAME}",
                "last({item})<10",
                TRIGGER_SEVERITY["warning"],
                "capacity",
                DISK.key,
            )
        )
    if role == "server":
        triggers.append(
            TriggerSpec(
                _wording("cpu"), "last({item})>5", TRIGGER_SEVERITY["average"], "capacity", CPU.key
            )
        )
    if role == "printer":
        triggers.append(
            TriggerSpec(
                _wording("toner"),
                "last({item})<10",
                TRIGGER_SEVERITY["information"],
                "capacity",
                TONER.key,
            )
        )
    return triggers


def first_values(host: Host, role: str) -> list[tuple[str, str]]:
    """Deterministic healthy values for the key items of ``host``."""

    def unit(salt: str) -> float:
        digest = hashlib.blake2b(f"{host.host}|{salt}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64

    values = {
        ICMP_OK.key: "1",
        LATENCY.key: f"{0.4 + unit('lat') * 3:.1f}",
        UPTIME.key: str(86400 * (3 + int(unit("up") * 90))),
        DISK.key: f"{35 + unit('disk') * 40:.0f}",
        CPU.key: f"{0.2 + unit('cpu') * 1.5:.2f}",
        TONER.key: str(40 + int(unit("toner") * 50)),
    }
    return [(item.key, values[item.key]) for item in key_items(role)]


def interface(host: Host, index: int) -> dict[str, Any]:
    """A host interface on a loopback address (nothing is ever polled there)."""
    kind = host.interfaces[0].type if host.interfaces else "snmp"
    # The demo's 10.x addresses, moved to 127.x: this Zabbix must never send traffic off the box.
    if host.interfaces and host.interfaces[0].ip.startswith("10."):
        ip = "127." + host.interfaces[0].ip.removeprefix("10.")
    else:
        ip = f"127.0.{index // 250 % 250}.{index % 250 + 2}"
    if kind == "agent":
        return {
            "type": INTERFACE_AGENT,
            "main": 1,
            "useip": 1,
            "ip": ip,
            "dns": "",
            "port": "10050",
        }
    return {
        "type": INTERFACE_SNMP,
        "main": 1,
        "useip": 1,
        "ip": ip,
        "dns": "",
        "port": "161",
        "details": {"version": 2, "bulk": 1, "community": "{$SNMP_COMMUNITY}"},
    }


def visible_names(source: DemoSource, hosts: Sequence[Host]) -> dict[str, str]:
    """Host visible names, made unique as Zabbix requires across the whole server.

    The demo's names are unique within a member (``DemoSource`` numbers the repeated ones:
    "Caméra abords mairie 2"), so they are kept; a name used by several members gets the
    member's town (only in generated estates). A name still repeated within a member would
    get a number: "… (2)".
    """
    towns = {member.group: member.town for member in source.members}
    owners: dict[str, set[str]] = {}
    for host in hosts:
        owners.setdefault(host.name, set()).add(host.groups[0])
    seen: dict[str, int] = {}
    names = {}
    for host in hosts:
        name = host.name
        if len(owners[name]) > 1:
            name = f"{name} – {towns[host.groups[0]]}"
        seen[name] = seen.get(name, 0) + 1
        names[host.host] = name if seen[name] == 1 else f"{name} ({seen[name]})"
    return names


def probe_targets(source: DemoSource, hosts: Sequence[Host]) -> dict[str, int]:
    """Number of items wanted per host: the demo's probe count of each member, spread evenly."""
    per_group = source.probe_counts()
    targets: dict[str, int] = {}
    by_group: dict[str, list[Host]] = {}
    for host in hosts:
        by_group.setdefault(host.groups[0], []).append(host)
    for group, members in by_group.items():
        base = {h.host: len(key_items(h.tag("role") or "other")) for h in members}
        extra = max(0, per_group.get(group, 0) - sum(base.values()))
        share, rest = divmod(extra, len(members))
        for index, host in enumerate(members):
            targets[host.host] = base[host.host] + share + (1 if index < rest else 0)
    return targets


# -- API plumbing ---------------------------------------------------------------------------------


class Api:
    """A thin pyzabbix wrapper: one method per call, with batching and timing."""

    def __init__(self, url: str, user: str, password: str, timeout: float) -> None:
        self.url = url
        self.zapi = ZabbixAPI(url, timeout=timeout)
        self.zapi.login(user, password)
        self.calls = 0

    def __call__(self, method: str, params: Any) -> Any:
        """Send one call; retry for a while when the database is (re)starting.

        The project's PostgreSQL is shared with the test suites, which stop and start it: a
        call then fails as a whole (Zabbix rolls its transaction back) and is safe to resend.
        """
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(
                lambda exc: (
                    isinstance(exc, (ZabbixAPIException, requests.ConnectionError))
                    and _transient(exc)
                )
            ),
            stop=tenacity.stop_after_delay(RETRY_FOR),
            wait=tenacity.wait_fixed(2),
            before_sleep=lambda state: logger.warning(
                "%s failed (%s); retrying", method, _first_line(state.outcome.exception())
            ),
            reraise=True,
        )
        return retrying(self._call, method, params)

    def _call(self, method: str, params: Any) -> Any:
        self.calls += 1
        started = time.perf_counter()
        result = self.zapi.do_request(method, params)["result"]
        logger.debug("%s: %.2f s", method, time.perf_counter() - started)
        return result

    def batched(self, method: str, objects: Sequence[Any], size: int = BATCH) -> list[Any]:
        """Send ``objects`` in arrays of ``size``; return the concatenated id lists."""
        ids: list[Any] = []
        for start in range(0, len(objects), size):
            result = self(method, list(objects[start : start + size]))
            if isinstance(result, dict):
                ids.extend(next(iter(result.values())) if result else [])
        return ids


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else exc.__class__.__name__


def _transient(exc: BaseException) -> bool:
    """A failure caused by the database or the frontend being down for a moment."""
    if isinstance(exc, requests.ConnectionError):
        return True
    text = str(exc).lower()
    return any(marker in text for marker in TRANSIENT_ERRORS)


def _chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# -- steps ----------------------------------------------------------------------------------------


def disable_server_host(api: Api, stats: Stats) -> None:
    """Disable the package's "Zabbix server" host: no agent runs, its items would only fail."""
    rows = api("host.get", {"output": ["hostid", "status"], "filter": {"host": ["Zabbix server"]}})
    enabled = [row["hostid"] for row in rows if row["status"] == "0"]
    for hostid in enabled:
        api("host.update", {"hostid": hostid, "status": 1})
    stats.add("disabled host", len(enabled), updated=True)


def ensure_groups(api: Api, names: Sequence[str], stats: Stats) -> dict[str, str]:
    rows = api("hostgroup.get", {"output": ["groupid", "name"], "filter": {"name": list(names)}})
    index = {row["name"]: row["groupid"] for row in rows}
    missing = [name for name in names if name not in index]
    if missing:
        ids = api.batched("hostgroup.create", [{"name": name} for name in missing])
        index.update(zip(missing, ids, strict=True))
    stats.add("host groups", len(missing))
    return index


def _host_object(host: Host, name: str, groupids: dict[str, str]) -> dict[str, Any]:
    inventory = dict(host.inventory)
    return {
        "host": host.host,
        "name": name,
        "groups": [{"groupid": groupids[group]} for group in host.groups],
        "tags": [{"tag": tag, "value": value} for tag, value in host.tags],
        "inventory_mode": 0,
        "inventory": {"type": inventory.get("type", ""), "location": inventory.get("location", "")},
        "description": "Équipement de démonstration créé par scripts/zabbix_provision.py.",
    }


def ensure_hosts(
    api: Api, hosts: Sequence[Host], names: dict[str, str], groupids: dict[str, str], stats: Stats
) -> dict[str, str]:
    """Create missing hosts, fix names/groups/tags/inventory of existing ones."""
    existing: dict[str, dict[str, Any]] = {}
    for chunk in _chunks([host.host for host in hosts], 5000):
        for row in api(
            "host.get",
            {
                "output": ["hostid", "host", "name"],
                "filter": {"host": list(chunk)},
                "selectTags": ["tag", "value"],
                "selectGroups": ["groupid"],
                "selectInventory": ["type", "location"],
            },
        ):
            existing[row["host"]] = row
    create, update = [], []
    for index, host in enumerate(hosts):
        wanted = _host_object(host, names[host.host], groupids)
        row = existing.get(host.host)
        if row is None:
            wanted["interfaces"] = [interface(host, index)]
            create.append(wanted)
            continue
        inventory = row.get("inventory") or {}
        if not isinstance(inventory, dict):
            inventory = {}
        same = (
            row["name"] == wanted["name"]
            and sorted(g["groupid"] for g in row.get("groups", ()))
            == sorted(g["groupid"] for g in wanted["groups"])
            and sorted((t["tag"], t["value"]) for t in row.get("tags", ()))
            == sorted((t["tag"], t["value"]) for t in wanted["tags"])
            and inventory.get("type", "") == wanted["inventory"]["type"]
            and inventory.get("location", "") == wanted["inventory"]["location"]
        )
        if not same:
            update.append(
                {"hostid": row["hostid"], **{k: v for k, v in wanted.items() if k != "host"}}
            )
    index = {name: row["hostid"] for name, row in existing.items()}
    if create:
        ids = api.batched("host.create", create, size=500)
        index.update(zip((obj["host"] for obj in create), ids, strict=True))
    if update:
        api.batched("host.update", update, size=500)
    stats.add("hosts", len(create))
    stats.add("hosts", len(update), updated=True)
    return index


def ensure_items(
    api: Api, hosts: Sequence[Host], hostids: dict[str, str], targets: dict[str, int], stats: Stats
) -> None:
    """Create the key items and enough ``vigie.probe[N]`` items to reach each host's target."""
    have: dict[str, set[str]] = {}
    ids = [hostids[host.host] for host in hosts]
    for chunk in _chunks(ids, 2000):
        for row in api(
            "item.get", {"output": ["hostid", "key_"], "hostids": list(chunk), "templated": False}
        ):
            have.setdefault(row["hostid"], set()).add(row["key_"])
    create = []
    for host in hosts:
        hostid = hostids[host.host]
        keys = have.get(hostid, set())
        specs = key_items(host.tag("role") or "other")
        for number in range(1, targets.get(host.host, len(specs)) - len(specs) + 1):
            specs.append(
                ItemSpec(
                    f"vigie.probe[{number}]",
                    f"Sonde {number}",
                    VALUE_UNSIGNED,
                    history="1d",
                    trends="0",
                )
            )
        for spec in specs:
            if spec.key in keys:
                continue
            create.append(
                {
                    "hostid": hostid,
                    "key_": spec.key,
                    "name": spec.name,
                    "type": ITEM_TRAPPER,
                    "value_type": spec.value_type,
                    "units": spec.units,
                    "history": spec.history,
                    "trends": spec.trends,
                    "tags": [{"tag": tag, "value": value} for tag, value in spec.tags],
                }
            )
    api.batched("item.create", create, size=2000)
    stats.add("items", len(create))


def ensure_triggers(
    api: Api, hosts: Sequence[Host], hostids: dict[str, str], stats: Stats
) -> dict[str, str]:
    """Create missing triggers; return host name -> id of its availability trigger."""
    existing: dict[tuple[str, str], str] = {}
    ids = [hostids[host.host] for host in hosts]
    for chunk in _chunks(ids, 2000):
        for row in api(
            "trigger.get",
            {
                "output": ["triggerid", "description"],
                "hostids": list(chunk),
                "selectHosts": ["hostid"],
                "templated": False,
                "inherited": False,
            },
        ):
            for h in row["hosts"]:
                existing[(h["hostid"], row["description"])] = row["triggerid"]
    create: list[dict[str, Any]] = []
    keys: list[tuple[str, str]] = []
    for host in hosts:
        hostid = hostids[host.host]
        for spec in triggers_for(host.tag("role") or "other"):
            if (hostid, spec.description) in existing:
                continue
            create.append(
                {
                    "description": spec.description,
                    "expression": spec.expression.format(item=f"/{host.host}/{spec.key}"),
                    "priority": spec.severity,
                    "manual_close": 1,
                    "tags": [{"tag": "scope", "value": spec.scope}],
                }
            )
            keys.append((hostid, spec.description))
    created = api.batched("trigger.create", create, size=1000)
    existing.update(zip(keys, created, strict=True))
    stats.add("triggers", len(create))
    availability = {}
    for host in hosts:
        description = triggers_for(host.tag("role") or "other")[0].description
        availability[host.host] = existing[(hostids[host.host], description)]
    return availability


def ensure_dependencies(
    api: Api, hosts: Sequence[Host], availability: dict[str, str], stats: Stats
) -> None:
    """Make each availability trigger depend on the one of the host's parent."""
    wanted = {
        availability[host.host]: availability[parent]
        for host in hosts
        if (parent := host.tag("parent")) and parent in availability
    }
    have: set[tuple[str, str]] = set()
    for chunk in _chunks(sorted(wanted), 2000):
        for row in api(
            "trigger.get",
            {
                "output": ["triggerid"],
                "triggerids": list(chunk),
                "selectDependencies": ["triggerid"],
            },
        ):
            have.update((row["triggerid"], dep["triggerid"]) for dep in row["dependencies"])
    missing = [
        {"triggerid": child, "dependsOnTriggerid": parent}
        for child, parent in wanted.items()
        if (child, parent) not in have
    ]
    for chunk in _chunks(missing, 1000):
        api("trigger.adddependencies", list(chunk))
    stats.add("trigger dependencies", len(missing))


def ensure_access(api: Api, groupids: Iterable[str], stats: Stats) -> str:
    """Role, user group and user of Vigie; return the user id."""
    rules = {
        "ui": [{"name": UI_ELEMENT, "status": 1}],
        "ui.default_access": 0,
        "services.read.mode": 0,
        "services.write.mode": 0,
        "modules.default_access": 0,
        "api.access": 1,
        "api.mode": 1,
        "api": list(API_METHODS),
        "actions": [{"name": name.removeprefix("actions."), "status": 1} for name in ACTIONS],
        "actions.default_access": 0,
    }
    roles = api("role.get", {"output": ["roleid"], "filter": {"name": ROLE}})
    if roles:
        roleid = roles[0]["roleid"]
        api("role.update", {"roleid": roleid, "type": 1, "rules": rules})
    else:
        roleid = api("role.create", {"name": ROLE, "type": 1, "rules": rules})["roleids"][0]
        stats.add("roles", 1)
    rights = [{"id": groupid, "permission": PERMISSION_READ} for groupid in sorted(groupids)]
    groups = api("usergroup.get", {"output": ["usrgrpid"], "filter": {"name": USER_GROUP}})
    if groups:
        usrgrpid = groups[0]["usrgrpid"]
        api(
            "usergroup.update",
            {
                "usrgrpid": usrgrpid,
                "rights": rights,
                "gui_access": GUI_ACCESS_DISABLED,
                "users_status": 0,
            },
        )
    else:
        usrgrpid = api(
            "usergroup.create",
            {"name": USER_GROUP, "rights": rights, "gui_access": GUI_ACCESS_DISABLED},
        )["usrgrpids"][0]
        stats.add("user groups", 1)
    users = api("user.get", {"output": ["userid"], "filter": {"username": USER}})
    if users:
        userid = users[0]["userid"]
        api(
            "user.update", {"userid": userid, "roleid": roleid, "usrgrps": [{"usrgrpid": usrgrpid}]}
        )
    else:
        # Nobody needs this password: Vigie uses the API token.
        userid = api(
            "user.create",
            {
                "username": USER,
                "name": "Vigie",
                "surname": "(portail)",
                "passwd": secrets.token_urlsafe(24),
                "roleid": roleid,
                "usrgrps": [{"usrgrpid": usrgrpid}],
            },
        )["userids"][0]
        stats.add("users", 1)
    return userid


def read_env(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    return {key: value for key, value in dotenv_values(path).items() if value is not None}


def token_works(url: str, token: str, timeout: float, groups: int) -> bool:
    """Whether ``token`` is a valid token of the API user that sees every member group."""
    try:
        probe = ZabbixAPI(url, timeout=timeout)
        probe.login(api_token=token)
        seen = probe.do_request(
            "hostgroup.get",
            {"countOutput": True, "search": {"name": GROUP_PREFIX}, "startSearch": True},
        )["result"]
    except (ZabbixAPIException, OSError, KeyError, ValueError):
        return False
    return int(seen) >= groups


def ensure_token(
    api: Api, userid: str, env: dict[str, str], timeout: float, groups: int, stats: Stats
) -> str:
    """Keep the env file's token while it works, else replace the user's token."""
    token = env.get("VIGIE_ZABBIX_TOKEN", "")
    if token and token_works(api.url, token, timeout, groups):
        return token
    old = api(
        "token.get", {"output": ["tokenid"], "userids": [userid], "filter": {"name": TOKEN_NAME}}
    )
    if old:
        api("token.delete", [row["tokenid"] for row in old])
    while True:
        tokenid = api(
            "token.create",
            {
                "name": TOKEN_NAME,
                "userid": userid,
                "description": TOKEN_DESCRIPTION,
            },
        )["tokenids"][0]
        token = api("token.generate", [tokenid])[0]["token"]
        try:
            # Vigie reads VIGIE_* values as JSON first: a token that parses as a number would
            # not stay a string. Practically never happens; draw again if it does.
            json.loads(token)
        except ValueError:
            break
        api("token.delete", [tokenid])
    stats.add("API tokens", 1)
    return token


def write_env(path: Path, url: str, token: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# Vigie on the development Zabbix (scripts/zabbix.sh); use: set -a; . THIS_FILE; set +a\n"
        "VIGIE_SOURCE=zabbix\n"
        f"VIGIE_ZABBIX_URL={url}\n"
        f"VIGIE_ZABBIX_TOKEN={token}\n"
        f"VIGIE_ZABBIX_GROUPS_PREFIX={GROUP_PREFIX}\n"
    )
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def write_values(path: Path, hosts: Sequence[Host]) -> int:
    lines = [
        f"{host.host} {key} {value}"
        for host in hosts
        for key, value in first_values(host, host.tag("role") or "other")
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


# -- command line ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", default=os.environ.get("VIGIE_ZABBIX_URL", DEFAULT_URL))
    parser.add_argument("--user", default="Admin", help="super admin used to provision")
    parser.add_argument(
        "--password", default=os.environ.get("VIGIE_ZABBIX_ADMIN_PASSWORD", "zabbix")
    )
    parser.add_argument("--env-file", type=Path, default=Path("/var/tmp/vigie-zabbix/vigie.env"))
    parser.add_argument(
        "--values-file",
        type=Path,
        default=None,
        help="zabbix_sender input with first values (default: beside --env-file)",
    )
    parser.add_argument("--seed", type=int, default=int(os.environ.get("VIGIE_DEMO_SEED", 42)))
    parser.add_argument(
        "--scale",
        type=int,
        default=6,
        metavar="N_MEMBERS",
        help="number of members (demo estate generator); 300 for benchmarks",
    )
    parser.add_argument(
        "--items",
        type=int,
        default=None,
        metavar="N",
        help="total number of items (default: the demo's probe counts)",
    )
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="provision: %(message)s"
    )
    logging.getLogger("pyzabbix").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    started = time.perf_counter()
    source = DemoSource(seed=args.seed, members=args.scale, items=args.items, incidents=False)
    hosts = source.hosts()
    try:
        api = Api(args.url, args.user, args.password, args.timeout)
    except (ZabbixAPIException, OSError) as exc:
        logger.error("cannot log in to %s as %s: %s", args.url, args.user, exc)
        return 1
    stats = Stats()
    try:
        disable_server_host(api, stats)
        groupids = ensure_groups(api, [member.group for member in source.members], stats)
        hostids = ensure_hosts(api, hosts, visible_names(source, hosts), groupids, stats)
        ensure_items(api, hosts, hostids, probe_targets(source, hosts), stats)
        availability = ensure_triggers(api, hosts, hostids, stats)
        ensure_dependencies(api, hosts, availability, stats)
        userid = ensure_access(api, groupids.values(), stats)
        token = ensure_token(
            api, userid, read_env(args.env_file), args.timeout, len(groupids), stats
        )
    except ZabbixAPIException as exc:
        logger.error("Zabbix refused a call: %s", exc)
        return 1
    write_env(args.env_file, args.url, token)
    values_file = args.values_file or args.env_file.with_name("first-values.txt")
    count = write_values(values_file, hosts)
    logger.info(
        "%d groups, %d hosts: %s (%d API calls, %.1f s)",
        len(groupids),
        len(hosts),
        stats.summary(),
        api.calls,
        time.perf_counter() - started,
    )
    logger.info("env file %s; %d first values in %s", args.env_file, count, values_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
