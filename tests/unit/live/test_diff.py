"""What live clients receive: node views, versions, changed nodes and a member's payload."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

from webapp.live import diff
from webapp.live.snapshot import read_snapshot
from webapp.live.status import member_status
from webapp.sources.demo import DemoSource


def _view(node_id: str, state: str = "ok", severity: int | None = None) -> diff.NodeView:
    return diff.NodeView(id=node_id, state=state, severity=severity, cause=None, problems=())


def _sarralbe(tmp_path, *failed: str):
    source = DemoSource(state_file=tmp_path / "state.json", incidents=False)
    for name in failed:
        source.fail(name)
    member = SimpleNamespace(slug="sarralbe", group_names=["Membres/sarralbe"])
    snapshot = read_snapshot(source)
    status = member_status(member, snapshot, stale_after_s=600.0)
    return source, status


def test_without_a_previous_state_every_node_has_changed():
    views = {"a": _view("a"), "b": _view("b")}
    assert diff.changed(None, views) == [views["a"], views["b"]]


def test_only_the_nodes_whose_state_differs_have_changed():
    before = {"a": _view("a"), "b": _view("b"), "c": _view("c")}
    after = {**before, "b": _view("b", "problem", 4), "d": _view("d")}
    assert diff.changed(before, after) == [after["b"], after["d"]]
    assert diff.changed(after, dict(after)) == [], "equal states: nothing to send"


def test_the_version_follows_the_states_not_the_order():
    views = {"a": _view("a"), "b": _view("b", "warning", 2)}
    reordered = {"b": views["b"], "a": views["a"]}
    assert diff.version_of(views) == diff.version_of(reordered)
    moved = {**views, "a": replace(views["a"], state="problem")}
    assert diff.version_of(moved) != diff.version_of(views)
    acknowledged = {
        **views,
        "b": replace(
            views["b"],
            problems=(("1", "Lien", 2, "2026-01-01T08:00:00", True, "link", "degraded"),),
        ),
    }
    assert diff.version_of(acknowledged) != diff.version_of(views), "problems count too"


def test_node_views_of_a_failed_router(tmp_path):
    source, status = _sarralbe(tmp_path, "sarralbe-routeur")
    views = diff.node_views(status)
    router = source.host_by_name("sarralbe-routeur").hostid
    assert set(views) == {node.id for node in status.member_map.nodes}
    assert views[router].state == "problem" and views[router].severity is not None
    assert views[router].problems, "the router's problem is listed"
    (eventid, name, severity, since, acknowledged, kind, impact) = views[router].problems[0]
    assert since.startswith("20") and acknowledged is False
    assert (kind, impact) == ("down", "interrupted"), "what it is about, for the live list"
    assert views[router].as_json()["problems"][0] == {
        "eventid": eventid,
        "name": name,
        "severity": severity,
        "since": since,
        "acknowledged": False,
        "kind": "down",
        "impact": "interrupted",
    }


def test_member_payload_carries_the_version_summary_and_given_nodes(tmp_path):
    source, status = _sarralbe(tmp_path, "sarralbe-routeur")
    views = diff.node_views(status)
    router = source.host_by_name("sarralbe-routeur").hostid
    payload = diff.member_payload("sarralbe", status, views, [views[router]], full=False)
    assert payload["member"] == "sarralbe" and payload["full"] is False
    assert payload["version"] == diff.version_of(views)
    assert payload["overall"] == "problem" and payload["incidents"] == 1
    assert payload["counts"] == {str(k): v for k, v in status.summary.counts.items()}
    assert payload["nodes"] == [views[router].as_json()]
    assert payload["at"] == status.member_map.at.isoformat()
    whole = diff.member_payload("sarralbe", status, views, list(views.values()), full=True)
    assert whole["full"] is True and len(whole["nodes"]) == len(views)
    assert whole["version"] == payload["version"], "the version is the whole state's"
