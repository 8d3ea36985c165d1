"""analyse / summarise: node states, root causes and incidents."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

import networkx as nx
import pytest

from topology import DependencyInfo
from topology import IncidentKind
from topology import InvalidDataError
from topology import MemberState
from topology import NodeState
from topology import ProblemInfo
from topology import Severity
from topology import analyse
from topology import build_graph
from topology import member_map
from topology import summarise

STALE = 900.0


@pytest.fixture
def office(make_host):
    """Box > router > 2 switches > 12 devices (6 per switch)."""
    hosts = [
        make_host("box", "Box fibre", role="access"),
        make_host("rtr", "Routeur", role="router"),
        make_host("sw1", "Switch 1", role="switch"),
        make_host("sw2", "Switch 2", role="switch"),
    ]
    for i in range(12):
        sw = "hsw1" if i < 6 else "hsw2"
        hosts.append(make_host(f"d{i:02}", f"Poste {i:02}", role="other", parent=sw))
    return build_graph(hosts)


def states(result) -> dict[str, NodeState]:
    return {n.id: n.state for n in result.nodes}


def test_empty_member_is_ok(t0):
    result = analyse(build_graph([]), [], now=t0, stale_after_s=STALE)
    assert [n.id for n in result.nodes] == ["internet"]
    assert result.overall is MemberState.OK
    assert result.incidents == ()
    assert dict(result.counts) == dict.fromkeys(NodeState, 0)
    summary = summarise(result)
    assert summary.hosts == 0 and summary.overall is MemberState.OK
    assert summary.worst_severity is None


def test_all_ok(office, t0):
    result = analyse(office, [], now=t0, stale_after_s=STALE)
    assert set(states(result).values()) == {NodeState.OK}
    assert result.counts[NodeState.OK] == 16
    assert result.overall is MemberState.OK
    assert result.at == t0
    assert result.nodes[0].id == "internet"
    assert result.node("rtr").depth == 2 and result.node("rtr").parent == "box"


def test_router_down_is_one_incident_with_twelve_affected(office, t0, make_problem):
    problems = [
        make_problem("rtr", Severity.HIGH, since=t0 - timedelta(minutes=5)),
        make_problem("d03", Severity.HIGH),  # the devices behind also complain
        make_problem("sw2", Severity.DISASTER),
    ]
    result = analyse(office, problems, now=t0, stale_after_s=STALE)
    (incident,) = result.incidents
    assert incident.root == "rtr"
    assert incident.kind is IncidentKind.DOWN
    assert incident.severity is Severity.HIGH
    assert incident.since == t0 - timedelta(minutes=5)
    assert len(incident.affected) == 14  # 2 switches + 12 devices
    devices = [n for n in incident.affected if n.startswith("d")]
    assert len(devices) == 12
    assert {p.hostid for p in incident.folded} == {"d03", "sw2"}
    assert incident.folded[0].severity is Severity.DISASTER
    s = states(result)
    assert s["rtr"] is NodeState.PROBLEM and s["box"] is NodeState.OK
    assert all(s[n] is NodeState.UNREACHABLE for n in incident.affected)
    assert {result.node(n).cause for n in incident.affected} == {"rtr"}
    assert result.node("d03").severity is Severity.HIGH  # own problems kept on the node
    assert result.node("rtr").down
    assert result.overall is MemberState.PROBLEM
    assert result.counts[NodeState.UNREACHABLE] == 14


def test_switch_down_only_hides_its_own_devices(office, t0, make_problem):
    result = analyse(office, [make_problem("sw1")], now=t0, stale_after_s=STALE)
    (incident,) = result.incidents
    assert incident.root == "sw1"
    assert incident.affected == tuple(f"d{i:02}" for i in range(6))
    assert states(result)["d07"] is NodeState.OK


def test_nested_down_nodes_fold_into_the_highest(office, t0, make_problem):
    problems = [make_problem("box", Severity.DISASTER), make_problem("rtr", Severity.HIGH)]
    result = analyse(office, problems, now=t0, stale_after_s=STALE)
    (incident,) = result.incidents
    assert incident.root == "box"
    assert len(incident.affected) == 15
    assert result.node("rtr").state is NodeState.UNREACHABLE
    assert result.node("rtr").cause == "box"
    assert result.node("d11").cause == "box"


def test_non_down_problem_is_its_own_incident(office, t0, make_problem):
    problems = [
        make_problem("d01", Severity.WARNING, name="Disque 92 %"),
        make_problem("d02", Severity.AVERAGE, since=t0 - timedelta(hours=2)),
    ]
    result = analyse(office, problems, now=t0, stale_after_s=STALE)
    assert [(i.root, i.kind, i.affected) for i in result.incidents] == [
        ("d02", IncidentKind.PROBLEM, ()),
        ("d01", IncidentKind.PROBLEM, ()),
    ]
    # Nothing is down: the member only warns, in the same words as its nodes.
    assert result.overall is MemberState.WARNING
    assert result.node("d02").state is NodeState.WARNING
    assert dict(result.counts)[NodeState.PROBLEM] == 0


def test_warning_only_member_is_warning(office, t0, make_problem):
    result = analyse(office, [make_problem("d01", Severity.WARNING)], now=t0, stale_after_s=STALE)
    assert result.overall is MemberState.WARNING
    assert result.node("d01").state is NodeState.WARNING
    assert not result.node("d01").down


def test_incidents_sorted_by_severity_then_since(office, t0, make_problem):
    problems = [
        make_problem("d01", Severity.WARNING, since=t0 - timedelta(hours=5)),
        make_problem("d08", Severity.HIGH, since=t0 - timedelta(minutes=1)),
        make_problem("d02", Severity.HIGH, since=t0 - timedelta(minutes=9)),
        make_problem("d03", Severity.DISASTER, since=t0),
    ]
    result = analyse(office, problems, now=t0, stale_after_s=STALE)
    assert [i.root for i in result.incidents] == ["d03", "d02", "d08", "d01"]


def test_suppressed_and_low_severity_problems_do_not_count(office, t0, make_problem):
    problems = [
        make_problem("rtr", Severity.DISASTER, suppressed=True),
        make_problem("d01", Severity.INFORMATION),
        make_problem("d02", Severity.NOT_CLASSIFIED),
    ]
    result = analyse(office, problems, now=t0, stale_after_s=STALE)
    assert set(states(result).values()) == {NodeState.OK}
    assert result.incidents == ()
    lowered = analyse(office, problems, now=t0, stale_after_s=STALE, min_severity=1)
    assert [i.root for i in lowered.incidents] == ["d01"]


def test_unknown_problem_hosts_are_ignored(office, t0, make_problem):
    result = analyse(
        office, [make_problem("nope"), make_problem("internet")], now=t0, stale_after_s=STALE
    )
    assert result.incidents == ()


def test_maintenance(make_host, t0, make_problem):
    hosts = [
        make_host("rtr", "Routeur", role="router", in_maintenance=True),
        make_host("sw", "Switch", role="switch"),
        make_host("pc", "PC", parent="hsw", in_maintenance=True),
    ]
    G = build_graph(hosts)
    problems = [make_problem("rtr", Severity.DISASTER), make_problem("pc", Severity.HIGH)]
    result = analyse(G, problems, now=t0, stale_after_s=STALE)
    s = states(result)
    # Maintenance on an ancestor does not make its descendants unreachable.
    assert s == {
        "internet": NodeState.OK,
        "rtr": NodeState.MAINTENANCE,
        "sw": NodeState.OK,
        "pc": NodeState.MAINTENANCE,
    }
    assert result.incidents == ()
    assert result.overall is MemberState.OK
    assert result.counts[NodeState.MAINTENANCE] == 2


def test_maintenance_node_behind_a_down_router_stays_in_maintenance(office, t0, make_problem):
    G = office.copy()
    host = G.nodes["d00"]["host"]
    G.nodes["d00"]["host"] = type(host)(**{**_fields(host), "in_maintenance": True})
    result = analyse(G, [make_problem("rtr")], now=t0, stale_after_s=STALE)
    assert result.node("d00").state is NodeState.MAINTENANCE
    assert "d00" not in result.incidents[0].affected
    assert len(result.incidents[0].affected) == 13


def _fields(host):
    return {name: getattr(host, name) for name in host.__dataclass_fields__}


def test_unknown_when_data_is_stale_or_agent_unavailable(make_host, t0, make_problem):
    hosts = [
        make_host("rtr", "Routeur", role="router"),
        make_host("old", "Vieux NAS", role="nas", last_data_age_s=3600.0),
        make_host(
            "off", "Agent coupé", role="server", available="unavailable", last_data_age_s=None
        ),
        make_host("fresh", "Récent", role="server", last_data_age_s=10.0, available="unknown"),
        make_host("both", "Stale + problème", role="server", last_data_age_s=5000.0),
    ]
    G = build_graph(hosts)
    result = analyse(G, [make_problem("both", Severity.WARNING)], now=t0, stale_after_s=STALE)
    assert result.node("old").state is NodeState.UNKNOWN
    assert result.node("old").stale_age_s == 3600.0
    assert result.node("off").state is NodeState.UNKNOWN
    assert result.node("off").stale_age_s is None
    assert result.node("fresh").state is NodeState.OK
    assert result.node("fresh").stale_age_s is None
    assert result.node("both").state is NodeState.WARNING
    assert result.node("both").stale_age_s == 5000.0
    assert result.overall is MemberState.WARNING


def test_only_unknown_hosts_make_the_member_unknown(make_host, t0):
    G = build_graph([make_host("1", "NAS", role="nas", available="unavailable")])
    result = analyse(G, [], now=t0, stale_after_s=STALE)
    assert result.overall is MemberState.UNKNOWN
    assert result.counts[NodeState.UNKNOWN] == 1


def test_unknown_behind_a_down_node_is_unreachable(make_host, t0, make_problem):
    hosts = [make_host("rtr", role="router"), make_host("nas", role="nas", available="unavailable")]
    result = analyse(build_graph(hosts), [make_problem("rtr")], now=t0, stale_after_s=STALE)
    assert result.node("nas").state is NodeState.UNREACHABLE


def test_inter_site_link_down_makes_the_remote_site_unreachable(make_host, t0, make_problem):
    hosts = [
        make_host("box", "Box", role="access", site="Mairie"),
        make_host("rtr", "Routeur mairie", role="router", site="Mairie"),
        make_host("sw", "Switch mairie", role="switch", site="Mairie"),
        make_host("nas", "NAS mairie", role="nas", site="Mairie"),
        make_host("lnk", "Liaison école", role="link", site="École"),
        make_host("rtr2", "Routeur école", role="router", site="École"),
        make_host("sw2", "Switch école", role="switch", site="École"),
        make_host("ap2", "Borne école", role="ap", site="École"),
        make_host("cam2", "Caméra école", role="camera", site="École"),
    ]
    problems = [
        make_problem("lnk", Severity.DISASTER, name="Liaison coupée"),
        make_problem("cam2", Severity.HIGH, name="Caméra hors ligne"),
        make_problem("nas", Severity.WARNING, name="Disque 92 %"),
    ]
    result = analyse(build_graph(hosts), problems, now=t0, stale_after_s=STALE)
    link, disk = result.incidents
    assert (link.root, link.kind, link.site) == ("lnk", IncidentKind.DOWN, "École")
    assert link.affected == ("rtr2", "sw2", "cam2", "ap2")  # tree order: camera < ap
    assert (disk.root, disk.kind, disk.affected) == ("nas", IncidentKind.PROBLEM, ())
    s = states(result)
    assert s["rtr"] is s["sw"] is NodeState.OK
    assert s["sw2"] is s["cam2"] is NodeState.UNREACHABLE


def test_redundant_parent_keeps_a_node_reachable(make_host, t0, make_problem):
    hosts = [
        make_host("rtr", "Routeur", role="router"),
        make_host("s1", "Switch 1", role="switch"),
        make_host("s2", "Switch 2", role="switch"),
        make_host("srv", "Serveur", role="server"),
    ]
    deps = [DependencyInfo("srv", "s1"), DependencyInfo("srv", "s2")]
    G = build_graph(hosts, deps)
    one = analyse(G, [make_problem("s1")], now=t0, stale_after_s=STALE)
    assert one.node("srv").state is NodeState.OK
    assert one.incidents[0].affected == ()
    both = analyse(G, [make_problem("s1"), make_problem("s2")], now=t0, stale_after_s=STALE)
    assert both.node("srv").state is NodeState.UNREACHABLE
    assert both.node("srv").cause == "s1"  # the down node on its tree path
    assert both.extra_edges == (("s2", "srv"),)


def test_acknowledged_incident(office, t0, make_problem):
    problems = [make_problem("rtr", acknowledged=True), make_problem("rtr", Severity.WARNING)]
    result = analyse(office, problems, now=t0, stale_after_s=STALE)
    assert not result.incidents[0].acknowledged
    result = analyse(office, problems[:1], now=t0, stale_after_s=STALE)
    assert result.incidents[0].acknowledged


def test_incident_acknowledged_at_is_the_earliest_of_its_root_problems(office, t0, make_problem):
    early, late = t0 - timedelta(minutes=20), t0 - timedelta(minutes=5)
    problems = [
        make_problem("rtr", acknowledged=True, acknowledged_at=late),
        make_problem("rtr", Severity.WARNING, acknowledged=True, acknowledged_at=early),
        # Behind the router: folded into its incident, its acknowledgement is not the root's.
        make_problem("d03", acknowledged=True, acknowledged_at=t0 - timedelta(hours=2)),
    ]
    result = analyse(office, problems, now=t0, stale_after_s=STALE)
    (incident,) = result.incidents
    assert incident.acknowledged and incident.acknowledged_at == early
    assert summarise(result).incidents[0].acknowledged_at == early
    # One root problem acknowledged out of two: not acknowledged, but since that time.
    partly = analyse(office, [problems[0], make_problem("rtr")], now=t0, stale_after_s=STALE)
    assert not partly.incidents[0].acknowledged
    assert partly.incidents[0].acknowledged_at == late
    none = analyse(office, [make_problem("rtr"), problems[2]], now=t0, stale_after_s=STALE)
    assert none.incidents[0].acknowledged_at is None
    assert summarise(none).incidents[0].acknowledged_at is None


def test_incident_since_is_the_start_of_the_worst_problem(office, t0, make_problem):
    problems = [
        make_problem("rtr", Severity.WARNING, since=t0 - timedelta(days=3)),
        make_problem("rtr", Severity.HIGH, since=t0 - timedelta(minutes=10)),
    ]
    (incident,) = analyse(office, problems, now=t0, stale_after_s=STALE).incidents
    assert incident.since == t0 - timedelta(minutes=10)
    assert [p.severity for p in incident.problems] == [Severity.HIGH, Severity.WARNING]


def test_summarise(office, t0, make_problem):
    problems = [
        make_problem("sw2", Severity.HIGH, since=t0 - timedelta(minutes=30)),
        make_problem("d07", Severity.HIGH),
        make_problem("d01", Severity.WARNING, since=t0 - timedelta(hours=1), acknowledged=True),
    ]
    result = analyse(office, problems, now=t0, stale_after_s=STALE)
    summary = summarise(result)
    assert summary.overall is MemberState.PROBLEM
    assert summary.hosts == 16
    assert summary.counts[NodeState.UNREACHABLE] == 6
    assert summary.counts[NodeState.PROBLEM] == 1  # sw2 is down
    assert summary.counts[NodeState.WARNING] == 1  # d01 only warns
    assert summary.counts[NodeState.OK] == 8
    assert summary.worst_severity is Severity.HIGH
    first, second = summary.incidents
    assert (first.label, first.role, first.kind, first.affected_count) == (
        "Switch 2",
        "switch",
        IncidentKind.DOWN,
        6,
    )
    assert first.duration_s == 1800.0 and first.problem_count == 2
    assert (second.label, second.affected_count, second.acknowledged) == ("Poste 01", 0, True)
    later = summarise(result, now=t0 + timedelta(minutes=30))
    assert later.incidents[0].duration_s == 3600.0


def test_naive_and_aware_datetimes_are_rejected(office, t0, make_problem):
    with pytest.raises(InvalidDataError):
        analyse(office, [make_problem("rtr")], now=datetime(2025, 3, 10), stale_after_s=STALE)


def test_invalid_severity_is_rejected(t0):
    with pytest.raises(InvalidDataError):
        ProblemInfo("e", "h", "x", 9, t0)
    assert ProblemInfo("e", "h", "x", 3, t0).severity is Severity.AVERAGE


def test_plain_networkx_graph_without_attributes(t0, make_problem):
    G = nx.DiGraph([("internet", "a"), ("a", "b")])
    result = analyse(G, [make_problem("a")], now=t0, stale_after_s=STALE)
    assert result.node("b").state is NodeState.UNREACHABLE
    assert result.node("b").role == "other"


def test_member_map_builds_lays_out_and_analyses(make_host, make_problem, t0):
    hosts = [make_host("1", "Box", role="access"), make_host("2", "Routeur", role="router")]
    result = member_map(hosts, [], [make_problem("1")], now=t0, stale_after_s=STALE, mode="narrow")
    assert result.layout.orientation == "narrow"
    assert result.incidents[0].affected == ("2",)
    assert member_map(hosts, [], [], now=t0, stale_after_s=STALE, mode=None).layout is None


def test_estate_500_analysis(estate, t0, make_problem):
    hosts = estate(500)
    G = build_graph(hosts)
    main_router = next(h.hostid for h in hosts if h.name == "Routeur mairie")
    result = analyse(G, [make_problem(main_router)], now=t0, stale_after_s=STALE)
    (incident,) = result.incidents
    assert len(incident.affected) == len(nx.descendants(G, main_router))
    assert result.counts[NodeState.UNREACHABLE] == len(incident.affected)
