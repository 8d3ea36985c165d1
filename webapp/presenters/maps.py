"""The member map as pages and the JSON API show it: drawings (positions, edges, label
lines), node panels and the map's JSON, computed from the services' statuses."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext

from topology.model import Layout
from topology.model import NodeStatus
from webapp.live.diff import display_state
from webapp.live.status import MemberStatus
from webapp.models import Member
from webapp.models.choices import ROLE_LABELS
from webapp.presenters import history as history_view
from webapp.presenters import overview
from webapp.presenters import support as support_view
from webapp.presenters import wording
from webapp.services import maps
from webapp.services import overview as overview_service
from webapp.sources.base import Metric


@dataclass(frozen=True)
class DrawnNode:
    node: NodeStatus
    x: float  # top-left corner
    y: float
    label: str  # the whole label (accessible name, node panel)
    lines: tuple[str, ...]  # what the box shows of it, one string per line
    line_ys: tuple[float, ...]  # baseline of each line
    state_y: float  # baseline of the state line
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


# What a box holds: characters per line (13 px bold text), lines of label, and the
# baselines (from the top of the box) of those lines and of the state line under them.
BOX_TEXT = {
    "wide": {"limit": 18, "lines": 2, "line_ys": {1: (27,), 2: (19, 34)}, "state_y": 54},
    "narrow": {"limit": 32, "lines": 1, "line_ys": {1: (20,)}, "state_y": 38},
}
ELLIPSIS = "…"


def _cut_end(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def _keep_tail(text: str, limit: int, start: int) -> str:
    """``text`` in ``limit`` characters, keeping what follows ``start`` (the middle goes)."""
    tail = text[start:].strip()
    if len(tail) > limit - 4:
        return ELLIPSIS + _cut_end(tail, limit - 1)
    return f"{text[: limit - len(tail) - 2].rstrip()}{ELLIPSIS} {tail}"


def _one_line(text: str, limit: int, focus: int | None) -> str:
    """``text`` on one line; ``focus`` is a character that must stay visible."""
    if len(text) <= limit:
        return text
    if focus is None:
        # A short last word is what tells siblings apart ("… 1", "… 2", "… B"): keep it.
        last = text.rfind(" ") + 1
        if last and len(text) - last <= 3:
            return _keep_tail(text, limit, last)
        return _cut_end(text, limit)
    if focus < limit - 1:
        return _cut_end(text, limit)
    start = text.rfind(" ", 0, focus + 1) + 1  # the word holding the focus
    return _keep_tail(text, limit, start if focus - start <= limit // 2 else focus)


def _wrap(text: str, limit: int) -> list[tuple[int, str]]:
    """Greedy word wrap: ``(start in text, line)`` pairs; longer words are cut.

    A dash stays at the end of a line ("Liaison mairie –"), and a short group in
    brackets on one line ("(Hôtel de ville)").
    """
    lines: list[tuple[int, str]] = []
    start = end = -1
    for word in re.finditer(rf"\([^)]{{0,{limit - 2}}}\)|\S+(?: [–-](?!\S))?", text):
        if start >= 0 and word.end() - start <= limit:
            end = word.end()
            continue
        if start >= 0:
            lines.append((start, text[start:end]))
        start, end = word.span()
        while end - start > limit:
            lines.append((start, text[start : start + limit]))
            start += limit
    if start >= 0:
        lines.append((start, text[start:end]))
    return lines


def label_lines(
    text: str, limit: int, max_lines: int = 1, focus: int | None = None
) -> tuple[str, ...]:
    """``text`` in at most ``max_lines`` lines of ``limit`` characters.

    It wraps at spaces, in lines as even as possible; what still does not fit is
    shortened on the last line, at its end, or in its middle to keep a short last
    word ("Commutateur m… 2") or the character ``focus`` (an index in ``text``).
    """
    if len(text) <= limit:
        return (text,)
    wrapped = _wrap(text, limit)
    if len(wrapped) <= max_lines:
        # It fits: the narrowest wrap in as many lines, so that lines are even
        # ("Commutateur / mairie 1", not "Commutateur mairie / 1").
        longest_word = max(len(word) for word in text.split())
        for width in range(max(longest_word, len(text) // max_lines), limit):
            if len(narrower := _wrap(text, width)) <= max_lines:
                return tuple(line for _, line in narrower)
        return tuple(line for _, line in wrapped)
    kept = tuple(line for _, line in wrapped[: max_lines - 1])
    offset = wrapped[max_lines - 1][0]
    rest_focus = focus - offset if focus is not None and focus >= offset else None
    return (*kept, _one_line(text[offset:], limit, rest_focus))


def _collisions(texts: list[tuple[str, ...]]) -> list[list[int]]:
    """Indexes of the texts that read the same (lines joined), in groups of two or more."""
    groups: dict[str, list[int]] = {}
    for index, lines in enumerate(texts):
        groups.setdefault(" ".join(lines), []).append(index)
    return [group for group in groups.values() if len(group) > 1]


def node_texts(labels: list[str], limit: int, max_lines: int = 1) -> list[tuple[str, ...]]:
    """The lines each box of one drawing shows, so that no two boxes read the same.

    A label is wrapped and shortened by :func:`label_lines`; when two shortened
    labels still read the same, each is shortened again around the first
    character where it differs from the others; labels left equal (the same
    name twice) are numbered: "Caméra (2)".
    """
    labels = [" ".join(label.split()) for label in labels]
    texts = [label_lines(label, limit, max_lines) for label in labels]
    for group in _collisions(texts):
        for index in group:
            others = {labels[i] for i in group} - {labels[index]}
            if others:
                focus = max(len(os.path.commonprefix([labels[index], o])) for o in others)
                focus = min(focus, len(labels[index]) - 1)
                texts[index] = label_lines(labels[index], limit, max_lines, focus)
    taken = {" ".join(lines) for lines in texts}
    for group in _collisions(texts):
        for index in group[1:]:
            number = 2
            while " ".join(numbered := _numbered(texts[index], number, limit)) in taken:
                number += 1
            texts[index] = numbered
            taken.add(" ".join(numbered))
    return texts


def _numbered(lines: tuple[str, ...], number: int, limit: int) -> tuple[str, ...]:
    suffix = f" ({number})"
    return (*lines[:-1], _cut_end(lines[-1], limit - len(suffix)) + suffix)


def drawing(status: MemberStatus, layout: Layout, kind: str) -> Drawing:
    """Place every node of ``status`` with ``layout`` (reading order = tree order)."""
    by_id = {node.id: node for node in status.member_map.nodes}
    w, h = layout.node_width, layout.node_height
    box = BOX_TEXT[kind]
    placed = [
        (index, by_id[node_id], layout.positions[node_id])
        for index, node_id in enumerate(layout.order)
        if node_id in by_id and node_id in layout.positions
    ]
    texts = node_texts([node.label for _, node, _ in placed], box["limit"], box["lines"])
    nodes = []
    for (index, node, position), lines in zip(placed, texts, strict=True):
        y = position.y - h / 2
        nodes.append(
            DrawnNode(
                node=node,
                x=position.x - w / 2,
                y=y,
                label=node.label,
                lines=lines,
                line_ys=tuple(y + dy for dy in box["line_ys"][len(lines)]),
                state_y=y + box["state_y"],
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
    return context


def node_context(member: Member, hostid: str) -> dict:
    """A node's panel: its problems, cause, role and readable last values."""
    detail = maps.node_detail(member, hostid)
    status = overview_service.status_of(member)
    return {
        "node": detail.node,
        "cause_label": detail.cause_label,
        "metrics": [format_metric(m) for m in detail.metrics],
        "metrics_error": _("Les dernières valeurs ne sont pas disponibles pour le moment.")
        if detail.metrics_unavailable
        else None,
        "role_label": ROLE_LABELS.get(detail.node.role, ROLE_LABELS["other"]),
        "care": support_view.node_care(member, status, detail.node.id)
        if detail.node.state != "ok"
        else None,
        "history": history_view.device_history(member, status.member_map, detail.node.id),
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
            "sentences": wording.sentences(summary, support_view.care_sentences(member, summary)),
            "incidents": len(summary.incidents),
            # The same vocabulary as the nodes' states, and the sentence pages show.
            "counts": {str(k): v for k, v in summary.counts.items()},
            "state_counts": wording.state_counts(summary),
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
