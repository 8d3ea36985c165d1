"""build_graph: parents, roles, sites, cycles, determinism."""

from __future__ import annotations

import random

import networkx as nx
import pytest

from topology import DependencyInfo
from topology import DuplicateHostError
from topology import HostInfo
from topology import InvalidDataError
from topology import UnknownRootError
from topology import WarningCode
from topology import build_graph
from topology import infer_role
from topology import normalise_role
from topology import spanning_tree


def parent_of(G: nx.DiGraph, node: str) -> str:
    (parent,) = [u for u in G.predecessors(node) if G.edges[u, node]["primary"]]
    return parent


def primary_tree(G: nx.DiGraph) -> nx.DiGraph:
    return G.edge_subgraph([(u, v) for u, v, d in G.edges(data=True) if d["primary"]])


def assert_is_tree(G: nx.DiGraph, root: str = "internet") -> None:
    T = nx.DiGraph(primary_tree(G))
    T.add_nodes_from(G)
    assert nx.is_arborescence(T)
    assert [n for n in T if T.in_degree(n) == 0] == [root]


def test_empty_member_has_only_the_internet_root():
    G = build_graph([])
    assert list(G.nodes) == ["internet"]
    assert G.nodes["internet"]["role"] == "internet"
    assert G.nodes["internet"]["label"] == "Internet"
    assert G.graph["root"] == "internet"
    assert G.graph["warnings"] == ()


def test_simple_tree_by_roles(make_host):
    hosts = [
        make_host("1", "Box fibre", role="access"),
        make_host("2", "Routeur", role="router"),
        make_host("3", "Switch", role="switch"),
        make_host("4", "NAS", role="nas"),
        make_host("5", "Caméra", role="camera"),
    ]
    G = build_graph(hosts)
    assert sorted(G.edges) == [
        ("1", "2"),
        ("2", "3"),
        ("3", "4"),
        ("3", "5"),
        ("internet", "1"),
    ]
    assert {d["source"] for *_, d in G.edges(data=True)} == {"root", "inferred"}
    assert G.nodes["4"]["host"] is hosts[3]
    assert G.nodes["4"]["label"] == "NAS"
    assert G.nodes["4"]["role_source"] == "tag"
    assert_is_tree(G)


def test_custom_root_id(make_host):
    G = build_graph([make_host("1", role="access")], root_id="wan", root_label="WAN")
    assert sorted(G.edges) == [("wan", "1")]
    assert G.nodes["wan"]["label"] == "WAN"
    assert G.graph["root"] == "wan"


def test_parent_tag_by_technical_name(make_host):
    hosts = [
        make_host("1", "Routeur", role="router", host="rtr-mairie"),
        make_host("2", "Switch A", role="switch"),
        make_host("3", "Switch B", role="switch", parent="rtr-mairie"),
        make_host("4", "Imprimante", role="printer", parent="h3"),
    ]
    G = build_graph(hosts)
    assert parent_of(G, "4") == "3"  # inference alone would pick the first switch, "2"
    assert G.edges["3", "4"]["source"] == "tag"
    assert G.nodes["4"]["parent_source"] == "tag"


def test_parent_tag_falls_back_to_case_and_visible_name(make_host):
    hosts = [
        make_host("1", "Switch Salle", role="switch", host="SW-Salle"),
        make_host("2", "PC", parent="sw-salle"),
        make_host("3", "PC 2", parent="switch salle"),
    ]
    G = build_graph(hosts)
    assert parent_of(G, "2") == "1"
    assert parent_of(G, "3") == "1"


def test_dependency_wins_over_parent_tag(make_host):
    hosts = [
        make_host("1", "Routeur", role="router"),
        make_host("2", "Switch A", role="switch"),
        make_host("3", "Switch B", role="switch"),
        make_host("4", "Caméra", role="camera", parent="h2"),
    ]
    G = build_graph(hosts, [DependencyInfo("4", "3")])
    assert parent_of(G, "4") == "3"
    assert G.edges["3", "4"]["source"] == "dependency"
    assert not G.has_edge("2", "4")


def test_several_dependencies_pick_first_by_name_then_keep_extra_edges(make_host):
    hosts = [
        make_host("1", "Routeur", role="router"),
        make_host("2", "Switch B", role="switch"),
        make_host("3", "Switch A", role="switch"),
        make_host("4", "Serveur", role="server"),
    ]
    deps = [DependencyInfo("4", "2"), DependencyInfo("4", "3")]
    G = build_graph(hosts, deps)
    assert parent_of(G, "4") == "3"  # "Switch A" sorts first
    assert G.edges["2", "4"] == {"primary": False, "source": "dependency"}
    assert_is_tree(G)


def test_several_dependencies_prefer_the_most_downstream(make_host):
    # The camera depends on the router and on its switch. By name the router comes
    # first, but it is upstream of the switch: the camera hangs under the switch.
    hosts = [
        make_host("1", "Aaa routeur", role="router"),
        make_host("2", "Commutateur", role="switch"),
        make_host("3", "Caméra", role="camera"),
    ]
    G = build_graph(hosts, [DependencyInfo("3", "1"), DependencyInfo("3", "2")])
    assert parent_of(G, "3") == "2"
    assert G.edges["1", "3"]["primary"] is False


def test_dependencies_of_foreign_hosts_are_ignored_and_unknown_targets_warned(make_host):
    hosts = [make_host("1", role="router"), make_host("2", role="server")]
    deps = [DependencyInfo("99", "1"), DependencyInfo("2", "77"), DependencyInfo("2", "2")]
    G = build_graph(hosts, deps)
    assert parent_of(G, "2") == "1"
    codes = {(w.code, w.hostid, w.detail) for w in G.graph["warnings"]}
    assert codes == {
        (WarningCode.UNKNOWN_DEPENDENCY, "2", "77"),
        (WarningCode.SELF_PARENT, "2", None),
    }


def test_unknown_parent_tag_is_warned_and_inferred(make_host):
    hosts = [make_host("1", role="router"), make_host("2", role="nas", parent="nowhere")]
    G = build_graph(hosts)
    assert parent_of(G, "2") == "1"
    assert G.edges["1", "2"]["source"] == "inferred"
    (warning,) = G.graph["warnings"]
    assert (warning.code, warning.hostid, warning.detail) == (
        WarningCode.UNKNOWN_PARENT,
        "2",
        "nowhere",
    )


def test_self_parent_tag_is_ignored(make_host):
    G = build_graph([make_host("1", role="router", parent="h1")])
    assert parent_of(G, "1") == "internet"
    assert [w.code for w in G.graph["warnings"]] == [WarningCode.SELF_PARENT]


def test_duplicate_technical_name_is_ambiguous(make_host):
    hosts = [
        make_host("1", "A", role="switch", host="sw"),
        make_host("2", "B", role="switch", host="sw"),
        make_host("3", "PC", parent="sw"),
    ]
    G = build_graph(hosts)
    assert parent_of(G, "3") == "1"
    assert [w.code for w in G.graph["warnings"]] == [WarningCode.AMBIGUOUS_PARENT]


@pytest.mark.parametrize(
    ("role", "parent"),
    [
        ("access", "internet"),
        ("router", "box"),
        ("firewall", "box"),
        ("link", "rtr"),
        ("switch", "rtr"),
        ("server", "sw"),
        ("nas", "sw"),
        ("camera", "sw"),
        ("ap", "sw"),
        ("printer", "sw"),
        ("phone", "sw"),
        ("other", "sw"),
        (None, "sw"),
    ],
)
def test_inference_by_role(make_host, role, parent):
    hosts = [
        make_host("box", "Box", role="access"),
        make_host("rtr", "Routeur", role="router"),
        make_host("sw", "Switch", role="switch"),
        make_host("x", "Équipement X", role=role),
    ]
    G = build_graph(hosts)
    assert parent_of(G, "x") == parent


def test_inference_fallbacks_without_switch_router_or_box(make_host):
    G = build_graph([make_host("1", "Routeur", role="router"), make_host("2", "NAS")])
    assert sorted(G.edges) == [("1", "2"), ("internet", "1")]
    G = build_graph([make_host("1", "Box", role="access"), make_host("2", "NAS")])
    assert sorted(G.edges) == [("1", "2"), ("internet", "1")]
    G = build_graph([make_host("1", "Routeur", role="router")])
    assert sorted(G.edges) == [("internet", "1")]
    G = build_graph([make_host("1", "NAS"), make_host("2", "Switch", role="switch")])
    assert sorted(G.edges) == [("2", "1"), ("internet", "2")]


@pytest.mark.parametrize(
    ("fields", "role"),
    [
        ({"name": "Routeur principal"}, "router"),
        ({"name": "Pare-feu mairie"}, "firewall"),
        ({"name": "FortiGate 60F"}, "firewall"),
        ({"name": "Commutateur 2e étage"}, "switch"),
        ({"host": "sw01-mairie", "name": ""}, "switch"),
        ({"name": "NAS sauvegardes"}, "nas"),
        ({"name": "Caméra parvis"}, "camera"),
        ({"name": "Borne Wi-Fi salle 3"}, "ap"),
        ({"name": "Serveur de fichiers"}, "server"),
        ({"name": "Imprimante accueil"}, "printer"),
        ({"name": "Téléphone standard"}, "phone"),
        ({"name": "Livebox pro"}, "access"),
        ({"name": "Box fibre Orange"}, "access"),
        ({"name": "Routeur fibre"}, "router"),
        ({"name": "Liaison mairie – école"}, "link"),
        ({"name": "Capteur", "inventory_type": "Switch"}, "switch"),
        ({"name": "Caméra", "inventory_type": "NAS"}, "nas"),
        ({"name": "Station météo"}, "other"),
        ({"name": "Switch", "role": "Routeur"}, "router"),
        ({"name": "Switch", "role": "fibre"}, "access"),
        ({"name": "Switch", "role": "link-access"}, "access"),
        ({"name": "Switch", "role": "grille-pain"}, "other"),
    ],
)
def test_role_inference(fields, role):
    fields.setdefault("host", "h")
    assert infer_role(HostInfo("1", **fields)) == role


@pytest.mark.parametrize(
    ("value", "role"),
    [
        ("ROUTER", "router"),
        ("box", "access"),
        ("Fibre", "access"),
        ("link_access", "access"),
        ("pare-feu", "firewall"),
        ("Caméra", "camera"),
        ("borne wifi", "ap"),
        ("commutateur", "switch"),
        ("serveur", "server"),
        ("imprimante", "printer"),
        ("lien", "link"),
        ("", None),
        (None, None),
    ],
)
def test_normalise_role(value, role):
    assert normalise_role(value) == role


def test_multi_site_remote_router_hangs_under_its_link(make_host):
    hosts = [
        make_host("box", "Box", role="access", site="Mairie"),
        make_host("rtr", "Routeur mairie", role="router", site="Mairie"),
        make_host("sw", "Switch mairie", role="switch", site="Mairie"),
        make_host("lnk", "Liaison école", role="link", site="École"),
        make_host("rtr2", "Routeur école", role="router", site="École"),
        make_host("sw2", "Switch école", role="switch", site="École"),
        make_host("cam2", "Caméra école", role="camera", site="École"),
        make_host("pc", "Poste sans site"),
    ]
    G = build_graph(hosts)
    assert parent_of(G, "rtr") == "box"
    assert parent_of(G, "lnk") == "rtr"
    assert parent_of(G, "rtr2") == "lnk"
    assert parent_of(G, "sw2") == "rtr2"
    assert parent_of(G, "cam2") == "sw2"
    assert parent_of(G, "sw") == "rtr"
    assert parent_of(G, "pc") == "sw"  # no site tag: the main site
    assert G.nodes["pc"]["site"] is None
    assert_is_tree(G)


def test_multi_site_remote_without_router_and_remote_box(make_host):
    hosts = [
        make_host("box", "Box", role="access", site="Mairie"),
        make_host("rtr", "Routeur", role="router", site="Mairie"),
        make_host("lnk", "Liaison stade", role="link", site="Stade"),
        make_host("cam", "Caméra stade", role="camera", site="Stade"),
        make_host("box3", "Box gymnase", role="access", site="Gymnase"),
        make_host("rtr3", "Routeur gymnase", role="router", site="Gymnase"),
        make_host("ap3", "Borne gymnase", role="ap", site="Gymnase"),
    ]
    G = build_graph(hosts)
    assert parent_of(G, "cam") == "lnk"
    assert parent_of(G, "box3") == "internet"
    assert parent_of(G, "rtr3") == "box3"
    assert parent_of(G, "ap3") == "rtr3"


def test_cycle_in_parent_tags_is_broken_and_warned(make_host):
    hosts = [
        make_host("rtr", "Routeur", role="router"),
        make_host("sw", "Switch", role="switch", parent="hcam"),
        make_host("cam", "Caméra", role="camera", parent="hsw"),
    ]
    G = build_graph(hosts)
    assert_is_tree(G)
    # The switch is the most upstream of the cycle: its tag is dropped.
    assert parent_of(G, "sw") == "rtr"
    assert parent_of(G, "cam") == "sw"
    (warning,) = G.graph["warnings"]
    assert (warning.code, warning.hostid, warning.detail) == (WarningCode.CYCLE, "sw", "cam")


def test_long_cycle_through_inference_is_broken(make_host):
    # The router names the camera; the camera is inferred under the switch, which is
    # inferred under the router: a cycle mixing a tag and inference.
    hosts = [
        make_host("rtr", "Routeur", role="router", parent="hcam"),
        make_host("sw", "Switch", role="switch"),
        make_host("cam", "Caméra", role="camera"),
    ]
    G = build_graph(hosts)
    assert_is_tree(G)
    assert parent_of(G, "rtr") == "internet"
    assert [w.code for w in G.graph["warnings"]] == [WarningCode.CYCLE]


def test_cycle_in_dependencies_and_tags(make_host):
    hosts = [
        make_host(str(i), f"Host {i}", role="server", parent=f"h{i % 4 + 1}") for i in (1, 2, 3)
    ]
    hosts.append(make_host("4", "Host 4", role="server"))
    deps = [DependencyInfo("4", "1")]
    G = build_graph(hosts, deps)
    assert_is_tree(G)
    assert len([w for w in G.graph["warnings"] if w.code is WarningCode.CYCLE]) == 1
    # Dependencies are stronger than tags: the tag edge is the one dropped.
    assert G.edges["1", "4"]["source"] == "dependency"


def test_extra_dependency_closing_a_cycle_is_dropped(make_host):
    hosts = [make_host("1", "A", role="router"), make_host("2", "B", role="switch")]
    deps = [DependencyInfo("2", "1"), DependencyInfo("1", "2")]
    G = build_graph(hosts, deps)
    assert nx.is_directed_acyclic_graph(G)
    assert_is_tree(G)
    # The router (most upstream) loses its dependency on the switch, reported once.
    assert [(w.code, w.hostid, w.detail) for w in G.graph["warnings"]] == [
        (WarningCode.CYCLE, "1", "2")
    ]
    assert parent_of(G, "1") == "internet"
    assert parent_of(G, "2") == "1"


def test_warnings_do_not_depend_on_input_order(make_host):
    hosts = [make_host(str(i), f"Host {i}", parent="ghost") for i in range(5)]
    deps = [DependencyInfo(str(i), f"x{i}") for i in range(5)]
    first = build_graph(hosts, deps).graph["warnings"]
    again = build_graph(hosts[::-1], deps[::-1]).graph["warnings"]
    assert first == again
    assert len(first) == 10


def test_build_is_deterministic_whatever_the_input_order(estate):
    hosts = estate(300, seed=7)
    deps = [DependencyInfo(h.hostid, hosts[i % 5].hostid) for i, h in enumerate(hosts[20:60])]
    reference = build_graph(hosts, deps)
    for seed in range(3):
        rnd = random.Random(seed)
        shuffled_hosts, shuffled_deps = hosts[:], deps[:]
        rnd.shuffle(shuffled_hosts)
        rnd.shuffle(shuffled_deps)
        G = build_graph(shuffled_hosts, shuffled_deps)
        assert list(G.nodes(data=True)) == list(reference.nodes(data=True))
        assert list(G.edges(data=True)) == list(reference.edges(data=True))
        assert G.graph == reference.graph


def test_estate_is_a_tree_under_internet(estate):
    G = build_graph(estate(500))
    assert G.number_of_nodes() == 501
    assert_is_tree(G)


def test_duplicate_hostids_are_rejected(make_host):
    with pytest.raises(DuplicateHostError):
        build_graph([make_host("1"), make_host("1")])
    with pytest.raises(DuplicateHostError):
        build_graph([make_host("internet")])


def test_host_info_validation():
    with pytest.raises(InvalidDataError):
        HostInfo("1", "h", "H", available="down")
    with pytest.raises(InvalidDataError):
        HostInfo("", "h", "H")
    h = HostInfo("1", "h", "", role="  ", site="", parent=" sw ")
    assert (h.role, h.site, h.parent, h.label) == (None, None, "sw", "h")


def test_spanning_tree_unknown_root():
    with pytest.raises(UnknownRootError):
        spanning_tree(nx.DiGraph([("a", "b")]), "internet")


def test_spanning_tree_keeps_primary_edges_and_attaches_orphans():
    G = nx.DiGraph()
    G.add_edge("r", "a", primary=True)
    G.add_edge("r", "b", primary=True)
    G.add_edge("a", "c", primary=False)
    G.add_edge("b", "c", primary=True)
    G.add_edge("x", "y")  # not reachable from r
    T = spanning_tree(G, "r")
    assert T.parents["c"] == "b"
    assert T.extra_edges == (("a", "c"),)
    assert T.parents["x"] is None and T.parents["y"] == "x"
    assert T.order == ("r", "a", "b", "c", "x", "y")
    assert ("x", "y") in T.tree_edges
