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

from flask_babel import gettext as _

from topology.model import NodeState
from topology.model import NodeStatus
from webapp.models.choices import ROLE_LABELS
from webapp.models.choices import SEVERITY_LABELS
from webapp.models.choices import STATE_DISPLAY
from webapp.services.status import MemberStatus


@dataclass(frozen=True)
class NodeView:
    """The JSON-able state of one node, as pushed to browsers."""

    id: str
    state: str
    severity: int | None
    cause: str | None
    problems: tuple[tuple[str, str, int, str, bool], ...]  # eventid, name, severity, since, ack

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "state": self.state,
            "severity": self.severity,
            "cause": self.cause,
            "problems": [
                {"eventid": e, "name": n, "severity": s, "since": since, "acknowledged": ack}
                for e, n, s, since, ack in self.problems
            ],
        }


def display_state(node: NodeStatus) -> str:
    """The state shown to people: a problem that does not take a node down is a warning."""
    if node.state == NodeState.PROBLEM and not node.down:
        return "warning"
    return str(node.state)


def node_view(node: NodeStatus) -> NodeView:
    return NodeView(
        id=node.id,
        state=display_state(node),
        severity=int(node.severity) if node.severity is not None else None,
        cause=node.cause,
        problems=tuple(
            (p.eventid, p.name, int(p.severity), p.since.isoformat(), p.acknowledged)
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


def page_context(context: dict) -> dict:
    """What a live page adds to its template context: texts for its script, version."""
    status = context.get("status")
    return {
        "live_i18n": live_texts(),
        "version": version_of(node_views(status)) if status else None,
    }


def live_texts() -> dict:
    """Texts the live script needs, in the reader's language (no strings in JS)."""
    return {
        "states": {
            state.value: {"label": str(label), "glyph": glyph, "modifier": modifier}
            for state, (label, modifier, glyph) in STATE_DISPLAY.items()
        },
        "severities": {str(k): str(v) for k, v in SEVERITY_LABELS.items()},
        "roles": {k: str(v) for k, v in ROLE_LABELS.items()},
        "cause": _("cause probable : %(cause)s", cause="{cause}"),
        "changed": _("%(label)s : %(state)s", label="{label}", state="{state}"),
        "paused": _("Mises à jour suspendues"),
        "live": _("Mise à jour en direct"),
        "reconnecting": _("Connexion perdue, nouvelle tentative…"),
        "pause": _("Suspendre les mises à jour"),
        "resume": _("Reprendre les mises à jour"),
        "stale": _("Données non actualisées depuis %(time)s", time="{time}"),
        "stale_detail": _(
            "La source de supervision ne répond pas ; l’affichage montre le dernier état connu."
        ),
        "fresh": _("Données actualisées à %(time)s", time="{time}"),
        "no_news": _("plus de nouvelles"),
    }
