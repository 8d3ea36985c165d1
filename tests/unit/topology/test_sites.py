"""The network-map layout: band, site frames, inter-site links, folds (topology.sites)."""

import itertools
import random

import networkx as nx
import pytest

from topology.exceptions import InvalidDataError
from topology.sites import group_id
from topology.sites import site_layout
from topology.sites import site_layout_cached


def estate(sites=("Mairie", "École"), cameras=8, extra=None):
    """Internet → box → router; per site a switch (behind a link for the other sites)
    with ``cameras`` cameras, a NAS and two access points."""
    G = nx.DiGraph()

    def add(node, role, site, parent=None, label=None):
        G.add_node(node, role=role, site=site, label=label or node)
        if parent:
            G.add_edge(parent, node)

    add("internet", "internet", None, label="Internet")
    add("box", "access", sites[0], "internet")
    add("router", "router", sites[0], "box")
    for index, site in enumerate(sites):
        top = "router"
        if index:
            add(f"link-{index}", "link", site, "router", label=f"Liaison {site}")
            add(f"router-{index}", "router", site, f"link-{index}")
            top = f"router-{index}"
        switch = f"sw-{index}"
        add(switch, "switch", site, top)
        for n in range(cameras):
            add(f"cam-{index}-{n}", "camera", site, switch, label=f"Caméra {n}")
        add(f"nas-{index}", "nas", site, switch)
        add(f"ap-{index}-1", "ap", site, switch)
        add(f"ap-{index}-2", "ap", site, switch)
    for node, parent, role, site in extra or ():
        add(node, role, site, parent)
    return G


def boxes_overlap(layout, a, b):
    pa, pb = layout.positions[a], layout.positions[b]
    return abs(pa.x - pb.x) < layout.node_width and abs(pa.y - pb.y) < layout.node_height


def test_band_on_top_then_one_frame_per_site_main_first():
    layout = site_layout(estate(sites=("Mairie", "École", "Atelier")))
    assert layout.band == ("internet", "box", "router")
    assert [f.site for f in layout.frames] == ["Mairie", "Atelier", "École"]
    band_bottom = max(layout.positions[n].y for n in layout.band) + layout.node_height / 2
    assert all(f.y > band_bottom for f in layout.frames)
    for frame in layout.frames:  # every frame holds its own nodes
        for node in frame.nodes:
            p = layout.positions[node]
            assert frame.x < p.x < frame.x + frame.width
            assert frame.y < p.y < frame.y + frame.height
            assert layout.site_of[node] == frame.site


def test_a_missing_site_is_inherited_from_the_parent():
    G = estate(sites=("Mairie",), extra=[("printer", "sw-0", "printer", None)])
    layout = site_layout(G)
    assert layout.site_of["printer"] == "Mairie"
    assert "printer" in layout.frames[0].nodes


def test_inter_site_links_are_pills_between_frames_not_boxes_inside():
    layout = site_layout(estate(sites=("Mairie", "École")))
    assert layout.links == {"link-1"}
    assert all("link-1" not in f.nodes for f in layout.frames)
    ecole = next(f for f in layout.frames if f.site == "École")
    pill = layout.positions["link-1"]
    assert ecole.x < pill.x < ecole.x + ecole.width and pill.y < ecole.y  # above its frame
    ends = {(e.parent, e.child) for e in layout.edges}
    assert ("router", "link-1") in ends and ("link-1", "router-1") in ends
    assert layout.order.index("link-1") < layout.order.index("router-1")


def test_four_leaves_of_one_role_fold_three_do_not():
    layout = site_layout(estate(sites=("Mairie",), cameras=4))
    gid = group_id("sw-0", "camera")
    assert list(layout.groups) == [gid]
    group = layout.groups[gid]
    assert group.folded and len(group.members) == 4 and not group.out
    assert gid in layout.positions and not any(m in layout.positions for m in group.members)
    assert set(group.members) == set(layout.hidden)
    # Two access points and one NAS stay themselves; three cameras too.
    assert {"ap-0-1", "ap-0-2", "nas-0"} <= set(layout.positions)
    assert not site_layout(estate(sites=("Mairie",), cameras=3)).groups


def test_routers_links_and_switches_with_children_never_fold():
    extra = [(f"r{n}", "router", "router", "Mairie") for n in range(5)]
    extra += [(f"l{n}", "router", "link", "Mairie") for n in range(5)]
    layout = site_layout(estate(sites=("Mairie",), cameras=0, extra=extra))
    assert not layout.groups


def test_a_failed_member_is_drawn_outside_its_fold():
    layout = site_layout(estate(sites=("Mairie",), cameras=8), out=["cam-0-3"])
    group = layout.groups[group_id("sw-0", "camera")]
    assert group.out == ("cam-0-3",) and group.folded
    assert "cam-0-3" in layout.positions and "cam-0-3" not in layout.hidden
    assert layout.order.index(group.id) + 1 == layout.order.index("cam-0-3")
    assert not any(boxes_overlap(layout, group.id, n) for n in ["cam-0-3"])


def test_an_open_group_shows_its_members_under_it_in_reading_order():
    gid = group_id("sw-0", "camera")
    layout = site_layout(estate(sites=("Mairie",), cameras=6), open_groups=[gid])
    group = layout.groups[gid]
    assert not group.folded and not layout.hidden
    at = layout.order.index(gid)
    assert layout.order[at + 1 : at + 7] == group.members
    assert all(layout.positions[m].y > layout.positions[gid].y for m in group.members)
    assert {(gid, m) for m in group.members} <= {(e.parent, e.child) for e in layout.edges}


@pytest.mark.parametrize("kind", ["wide", "narrow"])
@pytest.mark.parametrize("seed", range(12))
def test_many_shapes_no_two_boxes_overlap_and_every_line_joins_two_drawn_boxes(kind, seed):
    rnd = random.Random(seed)
    sites = tuple(f"Site {n}" for n in range(rnd.randint(1, 7)))
    G = estate(sites=sites, cameras=rnd.randint(0, 12))
    for n in range(rnd.randint(0, 40)):
        parent = rnd.choice([x for x in G if G.nodes[x]["role"] in ("switch", "router")])
        role = rnd.choice(["camera", "ap", "printer", "phone", "switch", "server"])
        G.add_node(f"x{n}", role=role, site=G.nodes[parent]["site"], label=f"x{n}")
        G.add_edge(parent, f"x{n}")
    out = rnd.sample(sorted(G), 3)
    layout = site_layout(G, kind=kind, out=out)
    shown = [n for n in layout.order if n in layout.positions]
    assert len(shown) == len(set(shown)) == len(layout.positions)
    for a, b in itertools.combinations(shown, 2):
        assert not boxes_overlap(layout, a, b), (a, b)
    for edge in layout.edges:
        assert edge.parent in layout.positions and edge.child in layout.positions
    drawn = set(layout.positions) | set(layout.hidden)
    assert {str(n) for n in G} <= drawn | {g for g in layout.groups}
    assert all(
        0 <= p.x <= layout.width and 0 <= p.y <= layout.height for p in layout.positions.values()
    )
    # Deterministic: the same input, the same drawing.
    assert site_layout(G, kind=kind, out=out) == layout


def test_narrow_fits_a_phone_and_one_site_alone():
    G = estate(sites=("Mairie", "École"))
    params = {"node_width": 286, "indent": 12, "frame_pad": 8, "margin": 4}
    whole = site_layout(G, kind="narrow", **params)
    assert whole.width <= 360
    ecole = site_layout(G, kind="narrow", only_site="École", **params)
    assert [f.site for f in ecole.frames] == ["École"] and not ecole.band
    assert "sw-1" in ecole.positions and "sw-0" not in ecole.positions
    with pytest.raises(InvalidDataError):
        site_layout(G, only_site="Nulle part")
    with pytest.raises(InvalidDataError):
        site_layout(G, kind="diagonal")


def test_the_cache_keys_on_topology_and_fold_state():
    G = estate()
    a = site_layout_cached(G)
    assert site_layout_cached(estate()) is a
    assert site_layout_cached(G, out=["cam-0-1"]) is not a
    assert site_layout_cached(G, open_groups=[group_id("sw-0", "camera")]) is not a


def crosses(points, frame):
    """Whether a line of orthogonal ``points`` runs through the inside of ``frame``."""
    for p, q in itertools.pairwise(points):
        x1, x2 = sorted((p.x, q.x))
        y1, y2 = sorted((p.y, q.y))
        if (
            x1 < frame.x + frame.width
            and x2 > frame.x
            and y1 < frame.y + frame.height
            and (y2 > frame.y)
        ):
            return True
    return False


def test_lines_to_the_links_of_lower_rows_go_round_the_frames():
    """Ten sites in several rows: no line from the band crosses a frame on its way to a link."""
    sites = tuple(f"Site {n}" for n in range(10))
    layout = site_layout(estate(sites=sites, cameras=12))
    rows = {frame.y for frame in layout.frames}
    assert len(rows) >= 2, "the test needs frames on several rows"
    into_links = [e for e in layout.edges if e.child in layout.links]
    assert len(into_links) == 9
    for edge in into_links:
        assert edge.parent == "router"
        for frame in layout.frames:
            assert not crosses(edge.points, frame), (edge.child, frame.site)
        assert edge.points[-1].y == layout.positions[edge.child].y - layout.node_height / 2
