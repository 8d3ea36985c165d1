"""The wall's member panel: problem paths from Internet and the affected sites (no app)."""

from __future__ import annotations

import itertools
from datetime import UTC
from datetime import datetime

import pytest

import topology
from topology import HostInfo
from topology import ProblemInfo
from webapp.presenters import wall_member
from webapp.presenters.wall_member import MAX_PATHS

T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)

# A small estate like the demo's « Communauté de communes du Saulnois »: the head office
# behind the fibre box, two sites each behind an inter-site link (role=link).
ESTATE = [
    # host, visible name, role, parent, site
    ("box", "Box fibre (Siège)", "access", None, "Siège"),
    ("rt", "Routeur siège", "router", "box", "Siège"),
    ("sw1", "Commutateur siège 1", "switch", "rt", "Siège"),
    ("srv", "Serveur de fichiers siège", "server", "sw1", "Siège"),
    ("nas", "NAS sauvegardes siège", "nas", "sw1", "Siège"),
    ("sw2", "Commutateur siège 2", "switch", "rt", "Siège"),
    ("cam1", "Caméra parvis siège", "camera", "sw2", "Siège"),
    ("cam2", "Caméra parking siège", "camera", "sw2", "Siège"),
    ("ap", "Borne Wi-Fi siège", "ap", "sw2", "Siège"),
    ("l1", "Liaison siège – déchetterie", "link", "rt", "Déchetterie"),
    ("rt1", "Routeur déchetterie", "router", "l1", "Déchetterie"),
    ("sw11", "Commutateur déchetterie 1", "switch", "rt1", "Déchetterie"),
    ("ap11", "Borne Wi-Fi déchetterie", "ap", "sw11", "Déchetterie"),
    ("cam11", "Caméra abords déchetterie", "camera", "sw11", "Déchetterie"),
    ("l2", "Liaison siège – piscine", "link", "rt", "Piscine"),
    ("rt2", "Routeur piscine", "router", "l2", "Piscine"),
    ("sw21", "Commutateur piscine 1", "switch", "rt2", "Piscine"),
    ("cam21", "Caméra entrée piscine", "camera", "sw21", "Piscine"),
]
IDS = {host: str(100 + index) for index, (host, *_rest) in enumerate(ESTATE)}


def analysed(down=(), warn=()):
    """The estate's map and summary with ``down`` failed (high) and ``warn`` warning."""
    hosts = [
        HostInfo(
            hostid=IDS[host],
            host=host,
            name=name,
            role=role,
            parent=parent,
            site=site,
            available="unavailable" if host in down else "available",
            last_data_age_s=30.0,
        )
        for host, name, role, parent, site in ESTATE
    ]
    events = itertools.count(1)
    problems = [
        ProblemInfo(
            hostid=IDS[host],
            severity=severity,
            eventid=f"ev{next(events)}",
            name=f"Problème sur {host}",
            since=T0,
        )
        for hosts_of, severity in ((down, 4), (warn, 2))
        for host in hosts_of
    ]
    member_map = topology.member_map(hosts, [], problems, now=T0, stale_after_s=600, mode=None)
    return member_map, topology.summarise(member_map)


def steps(path) -> list[tuple[str, str, bool]]:
    return [(step.label, step.state, step.end) for step in path.steps]


def lines(panel) -> list[tuple[str, str, str]]:
    return [(site.title, site.state, site.counts) for site in panel.affected]


def test_all_fine_is_one_large_ok_message():
    panel = wall_member.panel(*analysed())
    assert panel.all_ok is True
    assert panel.paths == ()
    assert panel.affected == ()
    assert panel.others_text == ""
    assert (panel.devices, panel.sites) == (len(ESTATE), 3)
    assert panel.ok_text == "18 équipements sur 3 sites : tout fonctionne."


def test_a_switch_down_is_a_path_from_internet_with_what_is_unreachable_behind():
    panel = wall_member.panel(*analysed(down=["sw2"]))
    assert panel.all_ok is False
    [path] = panel.paths
    assert steps(path) == [
        ("Internet", "ok", False),
        ("Box fibre (Siège)", "ok", False),
        ("Routeur siège", "ok", False),
        ("Commutateur siège 2", "problem", True),
    ]
    assert (path.root, path.state, path.site) == (IDS["sw2"], "problem", "Siège")
    assert path.behind == 3
    assert path.behind_text == "3 équipements injoignables derrière"
    assert lines(panel) == [("Siège", "problem", "1 en panne, 3 injoignables")]
    assert panel.others_text == "2 autres sites : tout fonctionne"


def test_a_router_down_hides_a_whole_estate_behind_it():
    panel = wall_member.panel(*analysed(down=["rt"]))
    [path] = panel.paths
    assert [label for label, _state, _end in steps(path)] == [
        "Internet",
        "Box fibre (Siège)",
        "Routeur siège",
    ]
    assert path.behind == len(ESTATE) - 2  # all but the box and the router itself
    # Every site is touched: the failure first, then the unreachable ones, map order.
    assert lines(panel) == [
        ("Siège", "problem", "1 en panne, 7 injoignables"),
        ("Déchetterie", "unreachable", "5 injoignables"),
        ("Piscine", "unreachable", "4 injoignables"),
    ]
    assert panel.others_text == ""


def test_two_incidents_in_two_sites():
    panel = wall_member.panel(*analysed(down=["sw2", "sw21"]))
    assert sorted(p.root for p in panel.paths) == sorted([IDS["sw2"], IDS["sw21"]])
    by_root = {p.root: p for p in panel.paths}
    piscine = by_root[IDS["sw21"]]
    assert [label for label, _s, _e in steps(piscine)] == [
        "Internet",
        "Box fibre (Siège)",
        "Routeur siège",
        "Liaison siège – piscine",
        "Routeur piscine",
        "Commutateur piscine 1",
    ]
    assert [end for _l, _s, end in steps(piscine)] == [False] * 5 + [True]
    assert (piscine.behind, piscine.behind_text) == (1, "1 équipement injoignable derrière")
    assert by_root[IDS["sw2"]].behind == 3
    assert lines(panel) == [
        ("Siège", "problem", "1 en panne, 3 injoignables"),
        ("Piscine", "problem", "1 en panne, 1 injoignable"),
    ]
    assert panel.others_text == "Déchetterie : tout fonctionne"


def test_an_inter_site_link_down_cuts_its_site_off():
    panel = wall_member.panel(*analysed(down=["l1"]))
    [path] = panel.paths
    assert steps(path)[-1] == ("Liaison siège – déchetterie", "problem", True)
    assert steps(path)[-2] == ("Routeur siège", "ok", False)
    assert (path.site, path.behind) == ("Déchetterie", 4)
    assert lines(panel) == [("Déchetterie", "problem", "1 en panne, 4 injoignables")]
    assert panel.others_text == "2 autres sites : tout fonctionne"


def test_a_warning_only_is_no_failure_and_hides_nothing():
    panel = wall_member.panel(*analysed(warn=["nas"]))
    [path] = panel.paths
    assert steps(path)[-1] == ("NAS sauvegardes siège", "warning", True)
    assert {state for _l, state, end in steps(path) if not end} == {"ok"}
    assert (path.state, path.behind, path.behind_text) == ("warning", 0, "")
    assert lines(panel) == [("Siège", "warning", "1 en alerte")]
    assert "en panne" not in " ".join(site.counts for site in panel.affected)


def test_a_failure_comes_before_a_warning_in_paths_and_sites():
    panel = wall_member.panel(*analysed(down=["cam21"], warn=["nas"]))
    assert [p.state for p in panel.paths] == ["problem", "warning"]
    assert [site.title for site in panel.affected] == ["Piscine", "Siège"]


def test_many_incidents_show_the_first_paths_and_how_many_more():
    failed = ["srv", "nas", "cam1", "cam2", "ap"]
    panel = wall_member.panel(*analysed(down=failed))
    assert len(panel.paths) == MAX_PATHS
    assert panel.more_paths_text == f"+ {len(failed) - MAX_PATHS} autres incidents"


def test_devices_without_a_site_are_one_line_of_their_own():
    hosts = [
        HostInfo("1", "box", "Box", role="access", available="available"),
        HostInfo("2", "pc", "Poste accueil", parent="box", available="unavailable"),
    ]
    problem = ProblemInfo(hostid="2", severity=4, eventid="e1", name="down", since=T0)
    member_map = topology.member_map(hosts, [], [problem], now=T0, stale_after_s=600, mode=None)
    panel = wall_member.panel(member_map, topology.summarise(member_map))
    assert lines(panel) == [("Équipements sans site", "problem", "1 en panne")]
    assert [step.label for step in panel.paths[0].steps] == ["Internet", "Box", "Poste accueil"]


@pytest.mark.parametrize(
    ("states", "worst"),
    [((), "ok"), (("ok", "maintenance"), "maintenance"), (("warning", "problem"), "problem")],
)
def test_worst_state(states, worst):
    assert wall_member.worst_state(states) == worst


def test_a_long_path_folds_its_working_middle():
    """Internet → box → router → link → router → core → floor switch → camera (8 steps):
    Internet, « 4 équipements qui fonctionnent », then the last three."""
    deep = [
        ("box", "Box fibre (Hôtel de ville)", "access", None, "Hôtel de ville"),
        ("rt", "Routeur hôtel de ville", "router", "box", "Hôtel de ville"),
        ("l1", "Liaison hôtel de ville – arsenal", "link", "rt", "Arsenal"),
        ("rt1", "Routeur arsenal", "router", "l1", "Arsenal"),
        ("core", "Commutateur cœur arsenal", "switch", "rt1", "Arsenal"),
        ("sw", "Commutateur arsenal 1", "switch", "core", "Arsenal"),
        ("cam", "Caméra arsenal 1.1", "camera", "sw", "Arsenal"),
    ]
    hosts = [
        HostInfo(
            hostid=host,
            host=host,
            name=name,
            role=role,
            parent=parent,
            site=site,
            available="unavailable" if host == "cam" else "available",
            last_data_age_s=30.0,
        )
        for host, name, role, parent, site in deep
    ]
    problems = [ProblemInfo(hostid="cam", severity=4, eventid="e1", name="Caméra", since=T0)]
    member_map = topology.member_map(hosts, [], problems, now=T0, stale_after_s=600, mode=None)
    (path,) = wall_member.panel(member_map, topology.summarise(member_map)).paths
    assert [(s.label, s.state, s.end, s.skipped) for s in path.steps] == [
        ("Internet", "ok", False, 0),
        ("4 équipements qui fonctionnent", "ok", False, 4),
        ("Commutateur cœur arsenal", "ok", False, 0),
        ("Commutateur arsenal 1", "ok", False, 0),
        ("Caméra arsenal 1.1", "problem", True, 0),
    ]
    # A middle step that does not work stays in sight: nothing folds.
    warned = [
        wall_member.PathStep(step.id, step.label, "warning" if index == 3 else "ok")
        for index, step in enumerate(wall_member.PathStep(str(i), f"n{i}", "ok") for i in range(8))
    ]
    assert wall_member._shorten(tuple(warned)) == tuple(warned)
