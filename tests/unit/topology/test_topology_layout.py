"""Layouts: tidy tree (no overlap, no crossing), narrow mode, cache, determinism."""

from __future__ import annotations

import random
from collections import defaultdict

import networkx as nx
import pytest

from topology import DependencyInfo
from topology import InvalidDataError
from topology import Layout
from topology import UnknownRootError
from topology import build_graph
from topology import layered_layout
from topology import layout_cache_info
from topology import layout_cached
from topology import narrow_layout
from topology import topology_signature

SIZES = {"node_width": 160, "node_height": 48, "h_gap": 24, "v_gap": 64}


def assert_no_overlap(layout: Layout) -> None:
    boxes = sorted(
        (p.x - layout.node_width / 2, p.y - layout.node_height / 2, n)
        for n, p in layout.positions.items()
    )
    rows = defaultdict(list)
    for x, y, n in boxes:
        rows[y].append((x, n))
    for row in rows.values():
        for (x1, _), (x2, _) in zip(row, row[1:], strict=False):
            assert x2 - x1 >= layout.node_width
    tops = sorted(rows)
    for y1, y2 in zip(tops, tops[1:], strict=False):
        assert y2 - y1 >= layout.node_height


def assert_no_crossing(layout: Layout) -> None:
    """Between two consecutive layers, edges sorted by child x have sorted parent x."""
    pos = layout.positions
    layers = defaultdict(list)
    for parent, child in layout.tree_edges:
        layers[layout.depths[parent]].append((pos[child].x, pos[parent].x))
    for edges in layers.values():
        parents_x = [px for _, px in sorted(edges)]
        assert parents_x == sorted(parents_x)


def assert_parents_centred(G: nx.DiGraph, layout: Layout) -> None:
    kids = defaultdict(list)
    for parent, child in layout.tree_edges:
        kids[parent].append(layout.positions[child].x)
    for parent, xs in kids.items():
        assert layout.positions[parent].x == pytest.approx((min(xs) + max(xs)) / 2)


def test_single_root():
    G = nx.DiGraph()
    G.add_node("internet")
    layout = layered_layout(G, margin=0, **SIZES)
    assert layout.positions == {"internet": layout.positions["internet"]}
    assert (layout.width, layout.height) == (160, 48)
    assert layout.order == ("internet",)


def test_unknown_root_raises():
    with pytest.raises(UnknownRootError):
        layered_layout(nx.DiGraph([("a", "b")]))


@pytest.mark.parametrize(
    "kwargs",
    [{"node_width": 0}, {"h_gap": -1}, {"orientation": "diagonal"}],
)
def test_invalid_parameters(kwargs):
    G = nx.DiGraph([("internet", "a")])
    with pytest.raises(InvalidDataError):
        layered_layout(G, **kwargs)


def test_layers_follow_depth_and_root_is_on_top(make_host):
    hosts = [
        make_host("1", "Box", role="access"),
        make_host("2", "Routeur", role="router"),
        make_host("3", "Switch", role="switch"),
        make_host("4", "NAS", role="nas"),
        make_host("5", "Serveur", role="server"),
    ]
    G = build_graph(hosts)
    layout = layered_layout(G, **SIZES)
    ys = {n: p.y for n, p in layout.positions.items()}
    assert ys["internet"] < ys["1"] < ys["2"] < ys["3"] < ys["4"] == ys["5"]
    assert ys["2"] - ys["1"] == 48 + 64
    assert layout.depths == {"internet": 0, "1": 1, "2": 2, "3": 3, "4": 4, "5": 4}
    assert_no_overlap(layout)
    assert_parents_centred(G, layout)
    # role order: server before nas
    assert layout.positions["5"].x < layout.positions["4"].x


def test_siblings_grouped_by_site_then_role_then_label(make_host):
    hosts = [
        make_host("rtr", "Routeur", role="router"),
        make_host("a", "Zèbre", role="camera", site="B", parent="hrtr"),
        make_host("b", "Alpha", role="printer", site="A", parent="hrtr"),
        make_host("c", "Beta", role="server", site="A", parent="hrtr"),
        make_host("d", "Gamma", role="camera", site="A", parent="hrtr"),
        make_host("e", "Alpha", role="camera", site="A", parent="hrtr"),
    ]
    layout = layered_layout(build_graph(hosts))
    row = sorted("abcde", key=lambda n: layout.positions[n].x)
    assert row == ["c", "e", "d", "b", "a"]


def test_horizontal_orientation_swaps_axes(make_host):
    G = build_graph([make_host("1", role="access"), make_host("2", role="router")])
    v = layered_layout(G, orientation="vertical", **SIZES)
    h = layered_layout(G, orientation="horizontal", **SIZES)
    assert h.positions["internet"].x < h.positions["1"].x < h.positions["2"].x
    assert h.positions["1"].y == h.positions["2"].y
    assert v.positions["1"].x == v.positions["2"].x
    assert h.width == 3 * 160 + 2 * 24 + 2 * 16


def test_uneven_tree_has_no_overlap_or_crossing():
    G = nx.DiGraph()
    edges = [("r", "a"), ("r", "b"), ("r", "c"), ("a", "a1"), ("a1", "a2"), ("a2", "a3")]
    edges += [("c", f"c{i}") for i in range(6)] + [("c0", f"c0{i}") for i in range(5)]
    edges += [("b", "b1")]
    G.add_edges_from(edges)
    layout = layered_layout(G, "r", **SIZES)
    assert_no_overlap(layout)
    assert_no_crossing(layout)
    assert_parents_centred(G, layout)


def test_several_parents_are_laid_out_with_the_spanning_tree(make_host):
    hosts = [
        make_host("rtr", "Routeur", role="router"),
        make_host("s1", "Switch 1", role="switch"),
        make_host("s2", "Switch 2", role="switch"),
        make_host("srv", "Serveur", role="server"),
    ]
    deps = [DependencyInfo("srv", "s1"), DependencyInfo("srv", "s2")]
    G = build_graph(hosts, deps)
    layout = layered_layout(G)
    assert set(layout.positions) == set(G)
    assert ("s1", "srv") in layout.tree_edges
    assert layout.extra_edges == (("s2", "srv"),)
    assert_no_overlap(layout)


def test_unreachable_parts_are_still_placed():
    G = nx.DiGraph([("internet", "a"), ("x", "y")])
    layout = layered_layout(G)
    assert set(layout.positions) == {"internet", "a", "x", "y"}
    assert_no_overlap(layout)


def test_narrow_layout_fits_a_phone(estate):
    G = build_graph(estate(120))
    layout = narrow_layout(G)
    assert layout.orientation == "narrow"
    assert layout.width <= 360
    assert layout.order[0] == "internet"
    ys = [layout.positions[n].y for n in layout.order]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)
    assert_no_overlap(layout)
    for n, p in layout.positions.items():
        depth = min(layout.depths[n], 5)
        assert p.x == 8 + depth * 16 + 260 / 2
        assert p.x + layout.node_width / 2 <= layout.width


def test_narrow_order_is_the_wide_reading_order(estate):
    G = build_graph(estate(80))
    assert narrow_layout(G).order == layered_layout(G).order


def test_narrow_indentation_is_capped():
    G = nx.path_graph(12, create_using=nx.DiGraph)
    layout = narrow_layout(G, 0, indent=20, max_indent_depth=3, node_width=200, margin=0)
    assert layout.positions[11].x == layout.positions[3].x == 3 * 20 + 100
    assert layout.width == 260


def test_estate_500_no_overlap_no_crossing(estate):
    G = build_graph(estate(500))
    for orientation in ("vertical", "horizontal"):
        layout = layered_layout(G, orientation=orientation, **SIZES)
        assert len(layout.positions) == 501
        if orientation == "vertical":
            assert_no_overlap(layout)
            assert_no_crossing(layout)
            assert_parents_centred(G, layout)
        assert all(
            layout.node_width / 2 <= p.x <= layout.width - layout.node_width / 2
            and layout.node_height / 2 <= p.y <= layout.height - layout.node_height / 2
            for p in layout.positions.values()
        )


def test_estate_layout_is_deterministic_when_input_is_shuffled(estate):
    hosts = estate(500, seed=3)
    reference = layered_layout(build_graph(hosts))
    reference_narrow = narrow_layout(build_graph(hosts))
    for seed in range(3):
        shuffled = hosts[:]
        random.Random(seed).shuffle(shuffled)
        G = build_graph(shuffled)
        assert layered_layout(G) == reference
        assert narrow_layout(G) == reference_narrow


def test_layout_is_independent_of_graph_insertion_order():
    edges = [("r", f"n{i}") for i in range(10)] + [(f"n{i}", f"m{i}") for i in range(10)]
    a = nx.DiGraph(edges)
    b = nx.DiGraph(list(reversed(edges)))
    assert layered_layout(a, "r") == layered_layout(b, "r")


def test_cache_hits_on_same_topology_and_misses_on_change(make_host):
    hosts = [make_host("1", role="access"), make_host("2", role="router")]
    first = layout_cached(build_graph(hosts))
    again = layout_cached(build_graph(list(reversed(hosts))))
    assert again is first
    assert layout_cache_info().hits == 1
    narrow = layout_cached(build_graph(hosts), mode="narrow")
    assert narrow.orientation == "narrow"
    renamed = [hosts[0], make_host("2", "Nouveau nom", role="router")]
    assert layout_cached(build_graph(renamed)) is not first
    assert layout_cached(build_graph(hosts), node_width=100).node_width == 100
    info = layout_cache_info()
    assert (info.hits, info.misses) == (1, 4)


def test_cache_does_not_keep_graphs_alive(make_host):
    import gc
    import weakref

    G = build_graph([make_host("1", role="access")])
    ref = weakref.ref(G)
    layout_cached(G)
    del G
    gc.collect()
    assert ref() is None


def test_cache_rejects_unknown_mode():
    with pytest.raises(InvalidDataError):
        layout_cached(nx.DiGraph([("internet", "a")]), mode="spiral")


def test_signature_depends_on_attributes_and_edges():
    a = nx.DiGraph([("r", "x")])
    b = nx.DiGraph([("r", "x")])
    b.nodes["x"]["site"] = "École"
    c = nx.DiGraph([("r", "x"), ("x", "y")])
    signatures = {topology_signature(g, "r") for g in (a, b, c)}
    assert len(signatures) == 3


def assert_boxes_disjoint(layout: Layout) -> None:
    """Any two boxes are apart (general check, valid for stacked columns too)."""
    w, h = layout.node_width, layout.node_height
    items = sorted(layout.positions.items(), key=lambda item: (item[1].x, item[1].y))
    for index, (a, pa) in enumerate(items):
        for b, pb in items[index + 1 :]:
            if pb.x - pa.x >= w:
                break
            assert abs(pa.y - pb.y) >= h, (a, b)


def test_stacked_leaves_form_a_column_under_their_parent():
    G = nx.DiGraph([("r", "sw")] + [("sw", f"cam{i}") for i in range(6)] + [("r", "srv")])
    L = layered_layout(G, "r", stack_leaves=2, **SIZES)
    column = [L.positions[f"cam{i}"] for i in range(6)]
    assert len({p.x for p in column}) == 1, "one column"
    assert column[0].x > L.positions["sw"].x, "indented to the right of its parent"
    ys = [p.y for p in column]
    gaps = [b - a for a, b in zip(ys, ys[1:], strict=False)]
    assert ys == sorted(ys) and min(gaps) >= SIZES["node_height"]
    assert L.stacked == frozenset(f"cam{i}" for i in range(6))
    assert L.height >= ys[-1] + SIZES["node_height"] / 2
    assert_boxes_disjoint(L)


def test_stacking_makes_a_real_estate_narrower_without_overlap(estate):
    G = build_graph(estate(500))
    flat = layered_layout(G, **SIZES)
    stacked = layered_layout(G, stack_leaves=2, **SIZES)
    assert stacked.width < flat.width / 3
    assert_boxes_disjoint(stacked)
    assert stacked.order == flat.order
    shuffled = layered_layout(build_graph(list(reversed(estate(500)))), stack_leaves=2, **SIZES)
    assert shuffled.positions == stacked.positions, "deterministic"


def test_stacking_is_off_by_default_and_ignored_horizontally(estate):
    G = build_graph(estate(50))
    assert layered_layout(G, **SIZES).stacked == frozenset()
    assert layered_layout(G, orientation="horizontal", stack_leaves=2, **SIZES).stacked == (
        frozenset()
    )
