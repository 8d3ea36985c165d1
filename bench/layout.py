"""Topology: build_graph, the network-map layout (uncached, wide and narrow), analyse,
for 50 and 500 hosts.

The graphs look like a member's estate: an access box and a router at the main
site, then sites joined by a link and a router, two or three switches per site,
8 to 14 end devices per switch (cameras, access points, printers, phones,
servers, NAS), ``role``/``site``/``parent`` tags as in the demo source, trigger
dependencies on cameras and a redundant second uplink on servers (non-primary
edges). The demo's own members (6 to 35 hosts) are measured too.
"""

from __future__ import annotations

import random
import time
from datetime import UTC
from datetime import datetime

import topology
from bench.common import summary
from bench.common import time_ms
from topology.model import DependencyInfo
from topology.model import HostInfo
from topology.model import ProblemInfo

DEVICES = (
    ("camera", "Caméra"),
    ("ap", "Borne Wi-Fi"),
    ("printer", "Imprimante"),
    ("phone", "Téléphone"),
    ("server", "Serveur"),
    ("nas", "NAS"),
    ("camera", "Caméra abords"),
    ("ap", "Borne Wi-Fi étage"),
)
NOW = datetime(2026, 1, 12, 9, 30, tzinfo=UTC)


def synthetic_member(size: int, seed: int = 7) -> tuple[list[HostInfo], list[DependencyInfo]]:
    """``size`` hosts of one member, parents always listed before their children."""
    rnd = random.Random(seed)
    hosts: list[HostInfo] = []
    deps: list[DependencyInfo] = []

    def add(host: str, name: str, role: str, parent: str | None, site: str) -> str:
        hostid = str(20000 + len(hosts))
        hosts.append(
            HostInfo(
                hostid,
                host,
                name,
                role=role,
                parent=parent,
                site=site,
                inventory_type=role,
                available="available",
                last_data_age_s=30.0,
            )
        )
        return hostid

    main = "Siège"
    add("box", f"Box fibre ({main})", "access", None, main)
    add("routeur", f"Routeur {main.lower()}", "router", "box", main)
    site_index = 0
    while len(hosts) < size:
        site = main if site_index == 0 else f"Site {site_index}"
        router = "routeur"
        if site_index:
            add(f"liaison-{site_index}", f"Liaison siège – {site.lower()}", "link", "routeur", site)
            router = f"routeur-{site_index}"
            add(router, f"Routeur {site.lower()}", "router", f"liaison-{site_index}", site)
        switch_ids = []
        for s in range(2 + rnd.randrange(2)):
            switch = f"sw-{site_index}-{s + 1}"
            switch_ids.append(
                add(switch, f"Commutateur {site.lower()} {s + 1}", "switch", router, site)
            )
            for d in range(8 + rnd.randrange(7)):
                role, label = DEVICES[rnd.randrange(len(DEVICES))]
                hostid = add(
                    f"{switch}-{role}-{d + 1}",
                    f"{label} {d + 1} {site.lower()}",
                    role,
                    switch,
                    site,
                )
                if role == "camera":
                    deps.append(DependencyInfo(hostid, switch_ids[-1]))
                elif role == "server" and len(switch_ids) > 1:
                    # Redundant uplinks: the own switch is primary, the first one extra.
                    deps.append(DependencyInfo(hostid, switch_ids[-1]))
                    deps.append(DependencyInfo(hostid, switch_ids[0]))
        site_index += 1
    kept = hosts[:size]
    ids = {h.hostid for h in kept}
    return kept, [d for d in deps if d.hostid in ids and d.depends_on in ids]


def _problems(hosts: list[HostInfo]) -> list[ProblemInfo]:
    """A site router down, a NAS disk warning, a printer's toner: a typical bad morning."""
    problems = []
    routers = [h for h in hosts if h.role == "router"]
    nas = [h for h in hosts if h.role == "nas"]
    printers = [h for h in hosts if h.role == "printer"]
    picks = [
        (routers[-1:], 4, "ne répond plus"),
        (nas[:1], 2, "espace disque faible"),
        (printers[:1], 1, "toner"),
    ]
    for number, (chosen, severity, text) in enumerate(picks):
        for h in chosen:
            problems.append(
                ProblemInfo(
                    f"e{number}", h.hostid, f"{h.name} {text}", severity, NOW.replace(hour=8)
                )
            )
    return problems


def measure_graph(hosts: list[HostInfo], deps: list[DependencyInfo], repeat: int) -> dict:
    from webapp.presenters.maps import MAP_SIZES

    G = topology.build_graph(hosts, deps)
    problems = _problems(hosts)
    wide = topology.site_layout(G, kind="wide", **MAP_SIZES["wide"])
    failed = [p.hostid for p in problems]

    def pipeline():
        graph = topology.build_graph(hosts, deps)
        topology.site_layout(graph, kind="wide", out=failed, **MAP_SIZES["wide"])
        result = topology.analyse(graph, problems, now=NOW, stale_after_s=600)
        topology.summarise(result, now=NOW)

    signature = topology.topology_signature(G)
    topology.site_layout_cached(G, signature=signature, **MAP_SIZES["wide"])
    return {
        "hosts": len(hosts),
        "nodes": G.number_of_nodes(),
        "edges": G.number_of_edges(),
        "frames": len(wide.frames),
        "groups": len(wide.groups),
        "drawn_nodes": len(wide.positions),
        "wide_size_px": [round(wide.width), round(wide.height)],
        "build_graph_ms": time_ms(lambda: topology.build_graph(hosts, deps), repeat),
        # The drawing's layout, uncached: band, site frames, folds (the issue's < 100 ms).
        "site_layout_ms": time_ms(
            lambda: topology.site_layout(G, kind="wide", **MAP_SIZES["wide"]), repeat
        ),
        "site_layout_with_failures_ms": time_ms(
            lambda: topology.site_layout(G, kind="wide", out=failed, **MAP_SIZES["wide"]), repeat
        ),
        "site_layout_narrow_ms": time_ms(
            lambda: topology.site_layout(G, kind="narrow", **MAP_SIZES["narrow"]), repeat
        ),
        "layered_layout_ms": time_ms(lambda: topology.layered_layout(G), repeat),
        "analyse_ms": time_ms(
            lambda: topology.analyse(G, problems, now=NOW, stale_after_s=600), repeat
        ),
        "topology_signature_ms": time_ms(lambda: topology.topology_signature(G), repeat),
        "site_layout_cached_hit_ms": time_ms(
            lambda: topology.site_layout_cached(G, signature=signature, **MAP_SIZES["wide"]),
            repeat,
        ),
        "member_pipeline_uncached_ms": time_ms(pipeline, repeat),
    }


def demo_members(repeat: int = 5) -> dict:
    """Every member of the default demo estate, through the same host_info conversion."""
    from webapp.config import BaseConfig
    from webapp.live.status import host_info
    from webapp.presenters.maps import MAP_SIZES
    from webapp.sources.demo import DemoSource

    source = DemoSource(members=BaseConfig.DEMO_MEMBERS, incidents=False)
    now = datetime.now(UTC)
    hosts = source.hosts()
    deps = source.dependencies()
    rows = {}
    for member in source.members:
        infos = [host_info(h, now, frozenset()) for h in hosts if member.group in h.groups]
        ids = {h.hostid for h in infos}
        dinfo = [DependencyInfo(d.hostid, d.depends_on) for d in deps if d.hostid in ids]
        G = topology.build_graph(infos, dinfo)
        wide, narrow = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            layout = topology.site_layout(G, kind="wide", **MAP_SIZES["wide"])
            wide.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            topology.site_layout(G, kind="narrow", **MAP_SIZES["narrow"])
            narrow.append((time.perf_counter() - started) * 1000)
        rows[member.slug] = {
            "hosts": len(infos),
            "frames": len(layout.frames),
            "groups": len(layout.groups),
            "drawn_nodes": len(layout.positions),
            "site_layout_ms": summary(wide)["median"],
            "site_layout_narrow_ms": summary(narrow)["median"],
        }
    return rows


def grandalf_ms(hosts: list[HostInfo], deps: list[DependencyInfo], repeat: int) -> dict | None:
    """The same graph laid out by grandalf's Sugiyama engine (the well-kept alternative).

    Returns ``None`` when grandalf is not installed (``pip install grandalf``).
    """
    try:
        from grandalf.graphs import Edge
        from grandalf.graphs import Graph
        from grandalf.graphs import Vertex
        from grandalf.layouts import SugiyamaLayout
    except ImportError:
        return None

    G = topology.build_graph(hosts, deps)

    class Box:
        w, h = 176, 56

    def layout():
        vertices = {n: Vertex(n) for n in G.nodes}
        for v in vertices.values():
            v.view = Box()
        graph = Graph(list(vertices.values()), [Edge(vertices[a], vertices[b]) for a, b in G.edges])
        sugiyama = SugiyamaLayout(graph.C[0])
        sugiyama.init_all(roots=[vertices["internet"]])
        sugiyama.draw()

    return {"sugiyama_ms": time_ms(layout, repeat)}


def run(quick: bool = False) -> dict:
    results = {}
    for size, repeat in ((50, 100), (500, 30)):
        hosts, deps = synthetic_member(size)
        results[str(size)] = measure_graph(hosts, deps, repeat // 3 if quick else repeat)
        other = grandalf_ms(hosts, deps, 3 if size > 100 else 10)
        if other is not None:
            ours = results[str(size)]["layered_layout_ms"]["median"]
            theirs = other["sugiyama_ms"]["median"]
            results[str(size)]["grandalf"] = {
                **other,
                "ratio_grandalf_over_ours": round(theirs / ours, 1) if ours else None,
            }
    results["demo_members"] = demo_members()
    return results
