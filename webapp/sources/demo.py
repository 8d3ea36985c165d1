"""A deterministic, offline simulated estate behind the :class:`MonitoringSource` contract.

The estate (members, sites, equipment, items) is generated from a seed. Problems
come from two places:

* *natural* incidents, a pure function of time: the clock is cut into slots and
  a keyed hash decides, per host and slot, whether a typical incident of that
  kind of equipment (camera offline, NAS disk at 92 %, access link down...)
  starts, and for how long;
* *injected* faults, written by ``flask vigie demo fail HOST`` (or the admin
  page) into a small JSON state file, so that another process can drive the
  demo shown by the web process.

The same file can also simulate an outage of the whole source
(``flask vigie demo outage on``), which makes every call raise
:class:`SourceUnavailable`, like an unreachable Zabbix.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

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
from webapp.sources.base import SourceUnavailable
from webapp.sources.base import UnknownHost

__all__ = ["DEMO_MEMBERS", "DemoMember", "DemoSource", "DemoState"]

logger = logging.getLogger(__name__)

SLOT_SECONDS = 900
GROUP_PREFIX = "Membres/"


@dataclass(frozen=True, slots=True)
class DemoMember:
    """A member organisation of the simulated estate."""

    slug: str
    name: str
    kind: str
    siren: str
    town: str
    sites: tuple[str, ...]

    @property
    def group(self) -> str:
        return f"{GROUP_PREFIX}{self.slug}"


DEMO_MEMBERS: tuple[DemoMember, ...] = (
    DemoMember(
        "sarralbe",
        "Mairie de Sarralbe",
        "commune",
        "215706300",
        "Sarralbe",
        ("Mairie", "Médiathèque"),
    ),
    DemoMember(
        "bitche",
        "Ville de Bitche",
        "commune",
        "215700949",
        "Bitche",
        ("Hôtel de ville", "Centre technique municipal"),
    ),
    DemoMember(
        "cc-saulnois",
        "Communauté de communes du Saulnois",
        "epci",
        "245700398",
        "Château-Salins",
        ("Siège", "Déchetterie", "Piscine intercommunale"),
    ),
    DemoMember(
        "ecole-jean-moulin",
        "École élémentaire Jean Moulin",
        "school",
        "195700081",
        "Forbach",
        ("École",),
    ),
    DemoMember(
        "college-la-salle",
        "Collège La Salle",
        "school",
        "195701123",
        "Metz",
        ("Collège", "Gymnase"),
    ),
    DemoMember(
        "sde-rohrbach",
        "Syndicat des eaux de Rohrbach-lès-Bitche",
        "public_body",
        "255702456",
        "Rohrbach-lès-Bitche",
        ("Station de pompage",),
    ),
)

# role -> (items per host, natural incident probability per slot, incident kind)
ROLE_PROFILE: dict[str, tuple[int, float, str | None]] = {
    "access": (8, 0.004, "link_down"),
    "router": (42, 0.002, "host_down"),
    "link": (6, 0.006, "link_down"),
    "switch": (58, 0.002, "host_down"),
    "server": (36, 0.01, "cpu"),
    "nas": (24, 0.03, "disk"),
    "camera": (6, 0.03, "camera_down"),
    "ap": (9, 0.015, "host_down"),
    "printer": (5, 0.02, "toner"),
}

INCIDENTS: dict[str, tuple[str, Severity]] = {
    "host_down": ("{name} ne répond plus (ICMP)", Severity.HIGH),
    "link_down": ("Liaison coupée : {name}", Severity.DISASTER),
    "camera_down": ("Caméra hors ligne : {name}", Severity.HIGH),
    "disk": ("Espace disque faible sur {name} (92 % utilisés)", Severity.WARNING),
    "cpu": ("Charge processeur élevée sur {name}", Severity.AVERAGE),
    "toner": ("Toner presque vide sur {name}", Severity.INFORMATION),
    "fault": ("{name} ne répond plus (ICMP)", Severity.HIGH),
    "slow": ("Temps de réponse élevé sur {name}", Severity.WARNING),
}

# An injected warning (``demo warn``): the role's own kind of lesser problem.
WARNING_KINDS = {"nas": "disk", "server": "cpu"}
WARNING_KEY = "warning:"  # state file: a warning is a fault under this prefix


def _hash(*parts: object) -> int:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from ``parts``."""
    return _hash(*parts) / 2**64


class DemoState:
    """Injected faults and outage flag, shared between processes through a JSON file."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = Path(path) if path else None
        self._memory: dict = {"faults": {}, "outage": False}
        self._lock = threading.Lock()

    def read(self) -> dict:
        if self.path is None:
            return self._memory
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {"faults": {}, "outage": False}
        except (OSError, ValueError):
            logger.warning("Demo state file %s is unreadable; ignoring it", self.path)
            return {"faults": {}, "outage": False}
        data.setdefault("faults", {})
        data.setdefault("outage", False)
        return data

    def update(self, change: Callable[[dict], None]) -> dict:
        with self._lock:
            data = self.read()
            change(data)
            if self.path is None:
                self._memory = data
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".demo-state-")
                with os.fdopen(fd, "w") as handle:
                    json.dump(data, handle)
                os.replace(tmp, self.path)
            return data


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
        members: int = 6,
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
        self.members = self._make_members(members)
        self._hosts: list[Host] = []
        self._parent: dict[str, str] = {}
        self._role: dict[str, str] = {}
        self._items: dict[str, int] = {}
        self._build(items)
        self._by_name = {host.host: host for host in self._hosts}
        self._by_id = {host.hostid: host for host in self._hosts}
        self._children: dict[str, list[str]] = {}
        for child, parent in self._parent.items():
            self._children.setdefault(parent, []).append(child)

    # -- estate -------------------------------------------------------------------------

    def _make_members(self, count: int) -> list[DemoMember]:
        members = list(DEMO_MEMBERS[:count])
        kinds = ("commune", "commune", "commune", "epci", "school", "public_body")
        for index in range(len(members), count):
            number = index + 1
            kind = kinds[index % len(kinds)]
            sites = ("Mairie", "École") if index % 3 == 0 else ("Mairie",)
            members.append(
                DemoMember(
                    f"membre-{number:03d}",
                    f"Membre n° {number}",
                    kind,
                    f"2{number:08d}",
                    f"Commune {number}",
                    sites,
                )
            )
        return members

    def _build(self, total_items: int | None) -> None:
        specs: list[tuple[DemoMember, str, str, str, str | None, str]] = []
        for member in self.members:
            rnd = _hash(self.seed, member.slug)
            code = member.slug
            main = member.sites[0]
            specs.append(
                (member, f"{code}-box", f"Box fibre ({member.sites[0]})", "access", None, main)
            )
            router = f"{code}-routeur"
            specs.append((member, router, f"Routeur {main.lower()}", "router", f"{code}-box", main))
            for site_index, site in enumerate(member.sites):
                if site_index == 0:
                    site_router = router
                else:
                    link = f"{code}-liaison-{site_index}"
                    specs.append(
                        (
                            member,
                            link,
                            f"Liaison {main.lower()} – {site.lower()}",
                            "link",
                            router,
                            site,
                        )
                    )
                    site_router = f"{code}-routeur-{site_index}"
                    specs.append(
                        (member, site_router, f"Routeur {site.lower()}", "router", link, site)
                    )
                switches = 1 + (rnd >> site_index) % 2
                for s in range(switches):
                    switch = f"{code}-sw-{site_index}-{s + 1}"
                    specs.append(
                        (
                            member,
                            switch,
                            f"Commutateur {site.lower()} {s + 1}",
                            "switch",
                            site_router,
                            site,
                        )
                    )
                    devices = self._devices_for(member, site_index, s, rnd)
                    for number, (role, label) in enumerate(devices, start=1):
                        specs.append(
                            (
                                member,
                                f"{switch}-{role}-{number}",
                                f"{label} {site.lower()}",
                                role,
                                switch,
                                site,
                            )
                        )
        specs = _unique_names(specs)
        base_items = sum(ROLE_PROFILE[role][0] for _, _, _, role, _, _ in specs)
        factor = (total_items / base_items) if total_items else 1.0
        assigned = 0
        for index, (member, host, name, role, parent, site) in enumerate(specs):
            hostid = str(10100 + index)
            items = ROLE_PROFILE[role][0]
            items = max(1, round(items * factor))
            if total_items and index == len(specs) - 1:
                items = max(1, total_items - assigned)
            assigned += items
            self._items[hostid] = items
            self._role[hostid] = role
            tags = [("role", role), ("site", site)]
            if parent:
                tags.append(("parent", parent))
            octet = index % 250 + 2
            self._hosts.append(
                Host(
                    hostid=hostid,
                    host=host,
                    name=name,
                    groups=(member.group,),
                    tags=tuple(tags),
                    inventory=(("type", role), ("location", f"{site}, {member.town}")),
                    interfaces=(
                        Interface(
                            "agent" if role in ("server", "nas") else "snmp",
                            ip=f"10.{index // 62500 % 250}.{index // 250 % 250}.{octet}",
                        ),
                    ),
                    available=Availability.AVAILABLE,
                )
            )
        ids = {host.host: host.hostid for host in self._hosts}
        for host, (_, _, _, _, parent, _) in zip(self._hosts, specs, strict=True):
            if parent:
                self._parent[host.hostid] = ids[parent]

    def _devices_for(self, member: DemoMember, site: int, switch: int, rnd: int):
        wanted: list[tuple[str, str]] = []
        if switch == 0:
            if site == 0:
                wanted += [("server", "Serveur de fichiers"), ("nas", "NAS sauvegardes")]
                if member.kind in ("commune", "epci"):
                    wanted += [("camera", "Caméra parvis"), ("camera", "Caméra parking")]
            wanted += [("ap", "Borne Wi-Fi")]
            wanted += [("printer", "Imprimante")]
        else:
            wanted += [("camera", "Caméra entrée"), ("ap", "Borne Wi-Fi étage")]
            if member.kind == "school":
                wanted += [("ap", "Borne Wi-Fi salle informatique")]
        if member.kind == "school" and site == 0 and switch == 0:
            wanted += [("server", "Serveur pédagogique")]
        extra = (rnd >> (site + switch * 3)) % 3
        wanted += [("camera", "Caméra abords")] * (extra if member.kind != "school" else 0)
        return wanted

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

        Each change gets the next sequence number, so that ``changes(cursor)``
        reports it whatever the clocks of the writing and reading processes. A
        warning is kept as a fault under ``WARNING_KEY`` + host id (same numbers,
        history and cursor); a repair removes both.
        """
        hostids = [self.host_by_name(name).hostid for name in names]
        now = self.clock().timestamp()
        changed: list[int] = [0]
        if failed:
            keys = [WARNING_KEY + hostid if warning else hostid for hostid in hostids]
        else:
            keys = [key for hostid in hostids for key in (hostid, WARNING_KEY + hostid)]

        def change(data: dict) -> None:
            data["seq"] = data.get("seq", 0) + 1
            history = data.setdefault("history", [])
            for key in keys:
                if failed and key not in data["faults"]:
                    data["faults"][key] = [now, data["seq"]]
                    changed[0] += 1
                elif not failed and key in data["faults"]:
                    since, failed_seq = _fault(data["faults"].pop(key))
                    # Kept a while, so that changes(cursor) can report the recovery.
                    history.append([key, since, failed_seq, data["seq"]])
                    changed[0] += 1
            del history[: -max(500, len(keys))]

        self.state.update(change)
        return changed[0]

    def acknowledge(self, eventids: list[str], message: str, *, close: bool = False) -> None:
        """Acknowledge problems (kept in the state file, like Zabbix keeps them)."""
        self._check()

        def change(data: dict) -> None:
            acks = data.setdefault("acks", {})
            for eventid in eventids:
                acks[str(eventid)] = message
            # Forget acknowledgements of long-gone events.
            if len(acks) > 5000:
                for key in list(acks)[: len(acks) - 5000]:
                    del acks[key]

        self.state.update(change)

    def set_outage(self, down: bool) -> None:
        """Simulate the whole source being unreachable (or back)."""

        def change(data: dict) -> None:
            data["outage"] = bool(down)

        self.state.update(change)

    def faults(self) -> dict[str, datetime]:
        """Return injected faults as ``{host name: since}``."""
        data = self.state.read()
        return {
            self._by_id[key.removeprefix(WARNING_KEY)].host: datetime.fromtimestamp(since, UTC)
            for key, (since, _seq) in ((k, _fault(v)) for k, v in data["faults"].items())
            if key.removeprefix(WARNING_KEY) in self._by_id
        }

    def _check(self) -> dict:
        self.calls += 1
        data = self.state.read()
        if data.get("outage"):
            raise SourceUnavailable("La source de démonstration est arrêtée (panne simulée).")
        return data

    # -- time model ---------------------------------------------------------------------

    def _natural(self, host: Host, now: float) -> list[Problem]:
        role = self._role[host.hostid]
        _, probability, kind = ROLE_PROFILE[role]
        if not self.incidents or kind is None:
            return []
        slot = int(now // SLOT_SECONDS)
        found = []
        for candidate in (slot - 1, slot):
            if _unit(self.seed, host.hostid, candidate) >= probability:
                continue
            start = candidate * SLOT_SECONDS + _unit(self.seed, "o", host.hostid, candidate) * 300
            duration = 240 + _unit(self.seed, "d", host.hostid, candidate) * SLOT_SECONDS
            if start <= now < start + duration:
                name, severity = INCIDENTS[kind]
                found.append(self._problem(host, kind, name, severity, start, candidate))
        return found

    def _problem(
        self, host: Host, kind: str, name: str, severity: Severity, start: float, salt: object
    ) -> Problem:
        eventid = str(_hash(self.seed, "e", host.hostid, kind, salt) % 10**12)
        return Problem(
            eventid=eventid,
            hostid=host.hostid,
            triggerid=str(_hash(self.seed, "t", host.hostid, kind) % 10**9),
            name=name.format(name=host.name),
            severity=severity,
            since=datetime.fromtimestamp(int(start), UTC),
            tags=(("scope", "availability" if severity >= Severity.HIGH else "capacity"),),
        )

    def _problems_at(self, now: float, faults: dict[str, float]) -> list[Problem]:
        problems = []
        for host in self._hosts:
            problems.extend(self._natural(host, now))
            if host.hostid in faults:
                name, severity = INCIDENTS["fault"]
                since = faults[host.hostid]
                problems.append(self._problem(host, "fault", name, severity, since, since))
            if WARNING_KEY + host.hostid in faults:
                kind = WARNING_KINDS.get(self._role[host.hostid], "slow")
                name, severity = INCIDENTS[kind]
                since = faults[WARNING_KEY + host.hostid]
                problems.append(self._problem(host, kind, name, severity, since, ("w", since)))
        return problems

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
        faults = {k: _fault(v)[0] for k, v in data["faults"].items()}
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
        faults = {k: _fault(v)[0] for k, v in data["faults"].items()}
        acks = data.get("acks", {})
        selected = {host.hostid for host in self._selected(groups)}
        problems = self._problems_at(self.clock().timestamp(), faults)
        return sorted(
            (replace(p, acknowledged=p.eventid in acks) for p in problems if p.hostid in selected),
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
        faults = {k: _fault(v)[0] for k, v in data["faults"].items()}
        problems = self._problems_at(now.timestamp(), faults)
        down = self._down_hosts(problems)
        disk_full = {p.hostid for p in problems if "disque" in p.name}
        metrics = []
        for hostid in hostids:
            host = self._by_id.get(hostid)
            if host is None or hostid in down:
                continue
            role = self._role[hostid]
            latency = 0.4 + _unit(self.seed, "lat", hostid, int(now.timestamp() // 60)) * 3
            metrics.append(Metric(hostid, "icmppingsec", "Latence", f"{latency:.1f}", "ms", now))
            uptime = 86400 * (3 + _hash(self.seed, "up", hostid) % 90)
            metrics.append(
                Metric(hostid, "system.uptime", "Durée de fonctionnement", str(uptime), "s", now)
            )
            if role in ("server", "nas"):
                free = 8.0 if hostid in disk_full else 35 + _unit(self.seed, "disk", hostid) * 40
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
        faults = {k: _fault(v)[0] for k, v in data["faults"].items()}
        acks = data.get("acks", {})
        current = [
            replace(p, acknowledged=p.eventid in acks)
            for p in self._problems_at(now.timestamp(), faults)
        ]
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
        previous_faults = {
            k: _fault(v)[0] for k, v in data["faults"].items() if _fault(v)[1] <= then_seq
        }
        for hostid, since, failed_seq, repaired_seq in data.get("history", []):
            if failed_seq <= then_seq < repaired_seq:
                previous_faults[hostid] = since
        before = {p.eventid for p in self._problems_at(then, previous_faults)}
        now_ids = {p.eventid for p in current}
        opened = tuple(p for p in current if p.eventid not in before)
        closed = tuple(sorted(before - now_ids))
        return ChangeSet(cursor=next_cursor, opened=opened, closed=closed, read_at=now)


def _unique_names(specs: list[tuple]) -> list[tuple]:
    """Number the visible names a member repeats ("Caméra abords mairie 1", "… 2").

    Two devices of one member never share a name, as in a real estate where each
    one is told apart on the map and in the problem wording.
    """
    counts = Counter((spec[0].slug, spec[2]) for spec in specs)
    taken = set(counts)
    numbers: dict[tuple[str, str], int] = {}
    result = []
    for member, host, name, *rest in specs:
        key = (member.slug, name)
        if counts[key] > 1:
            number = numbers.get(key, 0) + 1
            while (member.slug, f"{name} {number}") in taken:
                number += 1
            numbers[key] = number
            name = f"{name} {number}"
            taken.add((member.slug, name))
        result.append((member, host, name, *rest))
    return result


def _fault(value) -> tuple[float, int]:
    """A stored fault: ``[since, sequence number]`` (a bare time in older state files)."""
    if isinstance(value, list | tuple):
        return float(value[0]), int(value[1])
    return float(value), 0


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
