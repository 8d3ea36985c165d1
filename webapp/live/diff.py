"""What live clients receive: per-member node states, versions and diffs.

Shared by the poller (which publishes changes) and by the Socket.IO handlers
(which answer a (re)connecting client with the current state when its version
is behind). Both compute from a :class:`Snapshot`, so an external poller and
the web workers agree without sharing memory.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from topology.model import NodeStatus
from topology.problems import classify
from topology.problems import impact_of
from webapp.live.status import MemberStatus


@dataclass(frozen=True)
class NodeView:
    """The JSON-able state of one node, as pushed to browsers."""

    id: str
    state: str
    severity: int | None
    cause: str | None
    # eventid, name, severity, since, acknowledged, kind, impact (topology.problems)
    problems: tuple[tuple[str, str, int, str, bool, str, str], ...]

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "state": self.state,
            "severity": self.severity,
            "cause": self.cause,
            "problems": [
                {
                    "eventid": e,
                    "name": n,
                    "severity": s,
                    "since": since,
                    "acknowledged": ack,
                    "kind": kind,
                    "impact": impact,
                }
                for e, n, s, since, ack, kind, impact in self.problems
            ],
        }


def display_state(node: NodeStatus) -> str:
    """The state shown to people: the topology's own word (one vocabulary, computed once)."""
    return str(node.state)


def node_view(node: NodeStatus) -> NodeView:
    return NodeView(
        id=node.id,
        state=display_state(node),
        severity=int(node.severity) if node.severity is not None else None,
        cause=node.cause,
        problems=tuple(
            (
                p.eventid,
                p.name,
                int(p.severity),
                p.since.isoformat(),
                p.acknowledged,
                classify(p.name, node.role).value,
                impact_of(p.severity).value,
            )
            for p in node.problems
        ),
    )


def node_views(status: MemberStatus) -> dict[str, NodeView]:
    return {node.id: node_view(node) for node in status.member_map.nodes}


def version_of(views: dict[str, NodeView]) -> str:
    """A short digest of every node state: equal versions mean nothing to send."""
    payload = json.dumps([views[k].as_json() for k in sorted(views)], sort_keys=True)
    return hashlib.blake2b(payload.encode(), digest_size=8).hexdigest()


def changed(previous: dict[str, NodeView] | None, current: dict[str, NodeView]) -> list[NodeView]:
    """Nodes whose state differs (all of them when there is no previous state)."""
    if previous is None:
        return list(current.values())
    return [view for key, view in current.items() if previous.get(key) != view]


def member_payload(
    slug: str,
    status: MemberStatus,
    views: dict[str, NodeView],
    nodes: list[NodeView],
    *,
    full: bool,
) -> dict:
    summary = status.summary
    return {
        "member": slug,
        "version": version_of(views),
        "full": full,
        "at": status.member_map.at.isoformat() if status.member_map.at else None,
        "overall": str(summary.overall),
        "incidents": len(summary.incidents),
        "counts": {str(k): v for k, v in summary.counts.items()},
        "nodes": [view.as_json() for view in nodes],
    }
