"""The member map: drawing data (positions, edges, labels) and node details."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext

from topology.model import Layout
from topology.model import NodeStatus
from webapp.models import Member
from webapp.models.choices import ROLE_LABELS
from webapp.services import overview
from webapp.services import wording
from webapp.services.errors import NotFound
from webapp.services.monitoring import get_monitor
from webapp.services.status import MemberStatus
from webapp.sources.base import Metric
from webapp.sources.base import SourceError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DrawnNode:
    node: NodeStatus
    x: float  # top-left corner
    y: float
    label: str
    short_label: str
    role_label: str
    tab_index: int


@dataclass(frozen=True)
class Drawing:
    """One SVG drawing (wide or narrow) of a member map."""

    kind: str
    width: float
    height: float
    node_width: float
    node_height: float
    nodes: list[DrawnNode]
    edges: list[str]  # SVG path data


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def drawing(status: MemberStatus, layout: Layout, kind: str) -> Drawing:
    """Place every node of ``status`` with ``layout`` (reading order = tree order)."""
    by_id = {node.id: node for node in status.member_map.nodes}
    w, h = layout.node_width, layout.node_height
    limit = 18 if kind == "wide" else 32
    nodes = []
    for index, node_id in enumerate(layout.order):
        node = by_id.get(node_id)
        position = layout.positions.get(node_id)
        if node is None or position is None:
            continue
        nodes.append(
            DrawnNode(
                node=node,
                x=position.x - w / 2,
                y=position.y - h / 2,
                label=node.label,
                short_label=_shorten(node.label, limit),
                role_label=str(ROLE_LABELS.get(node.role, ROLE_LABELS["other"])),
                tab_index=0 if index == 0 else -1,
            )
        )
    edges = []
    for parent, child in layout.tree_edges:
        a, b = layout.positions.get(parent), layout.positions.get(child)
        if a is None or b is None:
            continue
        if kind == "wide" and child in layout.stacked:
            x1 = a.x - w / 2 + 14
            edges.append(f"M{x1:.0f} {a.y + h / 2:.0f}V{b.y:.0f}H{b.x - w / 2:.0f}")
        elif kind == "wide":
            y1, y2 = a.y + h / 2, b.y - h / 2
            mid = (y1 + y2) / 2
            edges.append(f"M{a.x:.0f} {y1:.0f}V{mid:.0f}H{b.x:.0f}V{y2:.0f}")
        else:
            x1 = a.x - w / 2 + 8
            edges.append(f"M{x1:.0f} {a.y + h / 2:.0f}V{b.y:.0f}H{b.x - w / 2:.0f}")
    return Drawing(
        kind=kind,
        width=layout.width,
        height=layout.height,
        node_width=w,
        node_height=h,
        nodes=nodes,
        edges=edges,
    )


def map_context(member: Member) -> dict:
    """Everything the map page and its fragments show."""
    context = overview.member_page(member)
    status: MemberStatus | None = context.get("status")
    if status is not None and status.wide is not None:
        context["wide"] = drawing(status, status.wide, "wide")
        context["narrow"] = drawing(status, status.narrow, "narrow")
        context["state_summary"] = wording.state_counts(status.summary)
    return context


def node_detail(member: Member, hostid: str) -> dict:
    """A node's current problems, cause, and key last values."""
    status = overview.status_of(member)
    if status is None:
        raise NotFound(hostid)
    node = next(
        (n for n in status.member_map.nodes if n.id == hostid and n.id != status.member_map.root),
        None,
    )
    if node is None:
        raise NotFound(hostid)
    labels = {n.id: n.label for n in status.member_map.nodes}
    metrics: list[Metric] = []
    metrics_error = None
    try:
        metrics = get_monitor().source.last_values([hostid])
    except SourceError as exc:
        logger.warning("Last values of %s unavailable: %s", hostid, exc)
        metrics_error = _("Les dernières valeurs ne sont pas disponibles pour le moment.")
    return {
        "node": node,
        "cause_label": labels.get(node.cause) if node.cause else None,
        "metrics": [format_metric(m) for m in metrics],
        "metrics_error": metrics_error,
        "role_label": ROLE_LABELS.get(node.role, ROLE_LABELS["other"]),
    }


def format_metric(metric: Metric) -> dict:
    """Readable value: uptime in days, percentages, milliseconds."""
    value = metric.value
    if metric.units == "s":
        try:
            days = int(float(metric.value)) // 86400
            value = ngettext("%(num)d jour", "%(num)d jours", days)
        except ValueError:
            pass
    elif metric.units:
        value = f"{metric.value} {metric.units}"
    return {"name": metric.name, "value": value, "key": metric.key, "clock": metric.clock}


def map_json(member: Member, status: MemberStatus, layout_kind: str, **extra) -> dict:
    """The JSON form of a member map (``GET /api/v1/members/<slug>/map``)."""
    from webapp.services.live import display_state

    layout = status.wide if layout_kind == "wide" else status.narrow
    labels = {n.id: n.label for n in status.member_map.nodes}
    nodes = []
    for node in status.member_map.nodes:
        position = layout.positions.get(node.id) if layout else None
        nodes.append(
            {
                "id": node.id,
                "label": node.label,
                "role": node.role,
                "site": node.site,
                "state": display_state(node),
                "severity": int(node.severity) if node.severity is not None else None,
                "cause": node.cause,
                "cause_label": labels.get(node.cause) if node.cause else None,
                "stale_age_s": node.stale_age_s,
                "problems": [
                    {
                        "eventid": p.eventid,
                        "name": p.name,
                        "severity": int(p.severity),
                        "since": p.since.isoformat(),
                        "acknowledged": p.acknowledged,
                    }
                    for p in node.problems
                ],
                "position": {"x": position.x, "y": position.y} if position else None,
            }
        )
    summary = status.summary
    return {
        "member": member.slug,
        "name": member.name,
        "state": str(summary.overall),
        "summary": {
            "headline": wording.headline(summary),
            "sentences": wording.sentences(summary),
            "incidents": len(summary.incidents),
        },
        "root": status.member_map.root,
        "nodes": nodes,
        "edges": [{"from": a, "to": b} for a, b in status.member_map.edges],
        "layout": {
            "kind": layout_kind,
            "width": layout.width,
            "height": layout.height,
            "node_width": layout.node_width,
            "node_height": layout.node_height,
        }
        if layout
        else None,
        "generated_at": status.generated_at.isoformat(),
        **extra,
    }
