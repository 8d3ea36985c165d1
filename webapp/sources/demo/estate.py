"""The simulated estate: members, sites, equipment and items, generated from a seed.

The first eight members are hand-written: six small ones (a commune, an EPCI,
schools, a water syndicate, 7 to 40 devices each), then two large ones drawn from a
plan of their sites (an agglomeration community of about 150 devices, a city of
about 500: firewalls, core and floor switches, rows of cameras, telephones,
printers and Wi-Fi access points, inter-site links). Any further member is
generated (``membre-009``...), so that the benchmarks can run against 300
members. Every host carries its role, its site and its parent (the device it is
reached through), and a member never names two of its devices alike.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from dataclasses import field

from webapp.sources.base import Availability
from webapp.sources.base import Host
from webapp.sources.base import Interface
from webapp.sources.base import Severity

__all__ = [
    "DEMO_MEMBERS",
    "GROUP_PREFIX",
    "INCIDENTS",
    "ROLE_PROFILE",
    "WARNING_KINDS",
    "DemoMember",
    "Estate",
    "SitePlan",
    "build_estate",
    "make_members",
]

GROUP_PREFIX = "Membres/"


@dataclass(frozen=True, slots=True)
class SitePlan:
    """What one site of a large member holds, behind its core switch.

    ``floors`` access switches hang from the core switch; each carries
    ``cameras``, ``phones``, ``aps`` and ``printers`` devices. ``servers`` and
    ``nas`` sit on the core switch; ``firewall`` puts one between the site's
    router and its core switch.
    """

    name: str
    floors: int
    cameras: int = 0
    phones: int = 0
    aps: int = 0
    printers: int = 0
    servers: int = 0
    nas: int = 0
    firewall: bool = False


@dataclass(frozen=True, slots=True)
class DemoMember:
    """A member organisation of the simulated estate.

    A small member's devices follow from its kind and the seed; a large one has a
    ``plan`` per site (same order as ``sites``).
    """

    slug: str
    name: str
    kind: str
    siren: str
    town: str
    sites: tuple[str, ...]
    plan: tuple[SitePlan, ...] = ()

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

_FORBACH = (
    SitePlan(
        "Hôtel communautaire",
        5,
        cameras=1,
        phones=6,
        aps=2,
        printers=1,
        servers=3,
        nas=2,
        firewall=True,
    ),
    SitePlan("Centre aquatique", 2, cameras=8, phones=2, aps=1),
    SitePlan("Conservatoire", 2, phones=4, aps=3, printers=1),
    SitePlan("Médiathèque", 2, cameras=1, phones=1, aps=4, printers=1),
    SitePlan("Dépôt technique", 1, cameras=10, phones=3, aps=1, printers=1),
)
_METZ = (
    SitePlan(
        "Hôtel de ville",
        10,
        cameras=1,
        phones=12,
        aps=2,
        printers=1,
        servers=6,
        nas=2,
        firewall=True,
    ),
    SitePlan("Centre technique municipal", 4, cameras=4, phones=6, aps=1, printers=1),
    SitePlan("Police municipale", 3, cameras=14, phones=3, aps=1, printers=1, nas=2, firewall=True),
    SitePlan("Arsenal", 3, cameras=3, phones=5, aps=3, printers=1),
    SitePlan("Médiathèque Verlaine", 3, cameras=2, phones=3, aps=5, printers=1),
    SitePlan("Piscine Lothaire", 2, cameras=5, phones=1, aps=1),
    SitePlan("Serres municipales", 2, cameras=4, phones=2, aps=2),
    SitePlan("Cimetière de l’Est", 1, cameras=6, phones=1),
    SitePlan("Centre social Borny", 2, cameras=2, phones=6, aps=3, printers=1),
    SitePlan("Stade Saint-Symphorien", 2, cameras=12, phones=1, aps=2),
)
DEMO_MEMBERS += (
    DemoMember(
        "ca-forbach",
        "Communauté d’agglomération Forbach Porte de France",
        "epci",
        "245701404",
        "Forbach",
        tuple(site.name for site in _FORBACH),
        _FORBACH,
    ),
    DemoMember(
        "metz",
        "Ville de Metz",
        "commune",
        "215704636",
        "Metz",
        tuple(site.name for site in _METZ),
        _METZ,
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
    "firewall": (40, 0.002, "host_down"),
    "phone": (3, 0.004, "host_down"),
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

# (member, technical name, visible name, role, parent technical name, site)
_Spec = tuple[DemoMember, str, str, str, str | None, str]


def keyed_hash(*parts: object) -> int:
    """A deterministic 64-bit number from ``parts`` (the estate's and the clock's dice)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def keyed_unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from ``parts``."""
    return keyed_hash(*parts) / 2**64


@dataclass(slots=True)
class Estate:
    """The generated hosts of a set of members, with their roles, parents and item counts.

    ``parent``, ``role`` and ``items`` are keyed by host id; ``parent`` maps a
    host to the host it is reached through (absent for a member's access box).
    """

    members: list[DemoMember]
    hosts: list[Host] = field(default_factory=list)
    parent: dict[str, str] = field(default_factory=dict)
    role: dict[str, str] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)


def make_members(count: int) -> list[DemoMember]:
    """The first ``count`` members: the hand-written ones, then generated ones.

    Examples
    --------
    >>> [m.slug for m in make_members(10)][-3:]
    ['metz', 'membre-009', 'membre-010']
    """
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


def build_estate(seed: int, members: int, total_items: int | None = None) -> Estate:
    """Generate the estate of ``members`` members from ``seed``.

    Parameters
    ----------
    seed : int
        Seed of the estate (how many switches and cameras each site has).
    members : int
        Number of member organisations.
    total_items : int, optional
        Total number of items to spread over the hosts (each role's own count
        otherwise).

    Examples
    --------
    >>> estate = build_estate(42, 1)
    >>> estate.hosts[0].host, estate.role[estate.hosts[0].hostid]
    ('sarralbe-box', 'access')
    """
    estate = Estate(make_members(members))
    specs = _unique_names(_specs(seed, estate.members))
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
        estate.items[hostid] = items
        estate.role[hostid] = role
        tags = [("role", role), ("site", site)]
        if parent:
            tags.append(("parent", parent))
        octet = index % 250 + 2
        estate.hosts.append(
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
    ids = {host.host: host.hostid for host in estate.hosts}
    for host, (_, _, _, _, parent, _) in zip(estate.hosts, specs, strict=True):
        if parent:
            estate.parent[host.hostid] = ids[parent]
    return estate


def _specs(seed: int, members: list[DemoMember]) -> list[_Spec]:
    specs: list[_Spec] = []
    for member in members:
        if member.plan:
            specs += _planned(member)
            continue
        rnd = keyed_hash(seed, member.slug)
        code = member.slug
        main = member.sites[0]
        specs.append((member, f"{code}-box", f"Box fibre ({main})", "access", None, main))
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
                specs.append((member, site_router, f"Routeur {site.lower()}", "router", link, site))
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
                devices = _devices_for(member, site_index, s, rnd)
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
    return specs


_PLANNED_DEVICES = (
    ("camera", "Caméra", "cameras"),
    ("phone", "Téléphone", "phones"),
    ("ap", "Borne Wi-Fi", "aps"),
    ("printer", "Imprimante", "printers"),
)


def _planned(member: DemoMember) -> list[_Spec]:
    """A large member's devices, site by site from its plan.

    Box and router at the main site; every other site reached through its own
    inter-site link and router; then an optional firewall, a core switch with the
    servers and NAS, and floor switches each carrying its row of devices, named by
    site, floor and number (« Caméra police municipale 2.7 »).
    """
    code = member.slug
    main = member.sites[0]
    router = f"{code}-routeur"
    specs: list[_Spec] = [
        (member, f"{code}-box", f"Box fibre ({main})", "access", None, main),
        (member, router, f"Routeur {main.lower()}", "router", f"{code}-box", main),
    ]
    for index, site in enumerate(member.plan):
        place = site.name.lower()
        upstream = router
        if index:
            link = f"{code}-liaison-{index}"
            specs.append(
                (member, link, f"Liaison {main.lower()} – {place}", "link", router, site.name)
            )
            upstream = f"{code}-routeur-{index}"
            specs.append((member, upstream, f"Routeur {place}", "router", link, site.name))
        if site.firewall:
            firewall = f"{code}-pare-feu-{index}"
            specs.append((member, firewall, f"Pare-feu {place}", "firewall", upstream, site.name))
            upstream = firewall
        core = f"{code}-coeur-{index}"
        specs.append((member, core, f"Commutateur cœur {place}", "switch", upstream, site.name))
        for number in range(1, site.servers + 1):
            specs.append(
                (
                    member,
                    f"{core}-server-{number}",
                    f"Serveur {place} {number}",
                    "server",
                    core,
                    site.name,
                )
            )
        for number in range(1, site.nas + 1):
            specs.append(
                (member, f"{core}-nas-{number}", f"NAS {place} {number}", "nas", core, site.name)
            )
        for floor in range(1, site.floors + 1):
            switch = f"{code}-sw-{index}-{floor}"
            specs.append(
                (member, switch, f"Commutateur {place} {floor}", "switch", core, site.name)
            )
            for role, label, field_name in _PLANNED_DEVICES:
                for number in range(1, getattr(site, field_name) + 1):
                    specs.append(
                        (
                            member,
                            f"{switch}-{role}-{number}",
                            f"{label} {place} {floor}.{number}",
                            role,
                            switch,
                            site.name,
                        )
                    )
    return specs


def _devices_for(member: DemoMember, site: int, switch: int, rnd: int) -> list[tuple[str, str]]:
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


def _unique_names(specs: list[_Spec]) -> list[_Spec]:
    """Number the visible names a member repeats ("Caméra abords mairie 1", "… 2").

    Two devices of one member never share a name, as in a real estate where each
    one is told apart on the map and in the problem wording.
    """
    counts = Counter((spec[0].slug, spec[2]) for spec in specs)
    taken = set(counts)
    numbers: dict[tuple[str, str], int] = {}
    result: list[_Spec] = []
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
