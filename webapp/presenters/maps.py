"""The member map as pages and the JSON API show it: drawings (positions, edges, label
lines), node panels and the map's JSON, computed from the services' statuses."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext

import topology
from topology.model import NodeStatus
from topology.problems import classify
from topology.problems import impact_of
from topology.sites import Group
from topology.sites import SiteLayout
from webapp.live.diff import display_state
from webapp.live.status import MemberStatus
from webapp.models import Member
from webapp.models.choices import ROLE_LABELS
from webapp.presenters import history as history_view
from webapp.presenters import overview
from webapp.presenters import problems as problems_view
from webapp.presenters import support as support_view
from webapp.presenters import wording
from webapp.services import maps
from webapp.services import overview as overview_service
from webapp.services.errors import NotFound
from webapp.sources.base import Metric

# What a box holds: characters per line (13 px bold text), lines of label, and the
# baselines (from the top of the box) of those lines and of the state line under them.
BOX_TEXT = {
    "wide": {"limit": 18, "lines": 2, "line_ys": {1: (27,), 2: (19, 34)}, "state_y": 54},
    "narrow": {"limit": 32, "lines": 1, "line_ys": {1: (22,)}, "state_y": 42},
}
ELLIPSIS = "…"
FOLD_SIGN = 3  # characters a group's label leaves to its « + » / « − » sign


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
        # After a dash is where a link goes ("Liaison mairie – école"): keep it.
        dash = text.rfind(" – ")
        if dash >= 0:
            return _keep_tail(text, limit, dash + 3)
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


def node_texts(
    labels: list[str], limit: int, max_lines: int = 1, limits: list[int] | None = None
) -> list[tuple[str, ...]]:
    """The lines each box of one drawing shows, so that no two boxes read the same.

    A label is wrapped and shortened by :func:`label_lines`; when two shortened
    labels still read the same, each is shortened again around the first
    character where it differs from the others; labels left equal (the same
    name twice) are numbered: "Caméra (2)". ``limits`` gives a box its own line
    length (a group keeps room for its fold sign).
    """
    labels = [" ".join(label.split()) for label in labels]
    width = limits or [limit] * len(labels)
    texts = [label_lines(label, width[i], max_lines) for i, label in enumerate(labels)]
    for group in _collisions(texts):
        for index in group:
            others = {labels[i] for i in group} - {labels[index]}
            if others:
                focus = max(len(os.path.commonprefix([labels[index], o])) for o in others)
                focus = min(focus, len(labels[index]) - 1)
                texts[index] = label_lines(labels[index], width[index], max_lines, focus)
    taken = {" ".join(lines) for lines in texts}
    for group in _collisions(texts):
        for index in group[1:]:
            number = 2
            while " ".join(numbered := _numbered(texts[index], number, width[index])) in taken:
                number += 1
            texts[index] = numbered
            taken.add(" ".join(numbered))
    return texts


def _numbered(lines: tuple[str, ...], number: int, limit: int) -> tuple[str, ...]:
    suffix = f" ({number})"
    return (*lines[:-1], _cut_end(lines[-1], limit - len(suffix)) + suffix)


# Box sizes and spacing of the two drawings (topology.site_layout parameters).
MAP_SIZES = {
    "wide": {"node_width": 176, "node_height": 64, "lane": 88},
    "narrow": {
        "node_width": 286,
        "node_height": 52,
        "v_gap": 8,
        "indent": 12,
        "frame_pad": 8,
        "frame_gap": 16,
        "lane": 80,
        "margin": 4,
    },
}
ICON = 20  # the role icon, at the top left of a box

# One word per role, singular and plural, for the folded groups (« 8 caméras »).
ROLE_COUNTS = {
    "switch": lambda n: ngettext("%(num)d commutateur", "%(num)d commutateurs", n),
    "server": lambda n: ngettext("%(num)d serveur", "%(num)d serveurs", n),
    "nas": lambda n: ngettext("%(num)d stockage (NAS)", "%(num)d stockages (NAS)", n),
    "camera": lambda n: ngettext("%(num)d caméra", "%(num)d caméras", n),
    "ap": lambda n: ngettext("%(num)d borne Wi-Fi", "%(num)d bornes Wi-Fi", n),
    "printer": lambda n: ngettext("%(num)d imprimante", "%(num)d imprimantes", n),
    "phone": lambda n: ngettext("%(num)d téléphone", "%(num)d téléphones", n),
    "other": lambda n: ngettext("%(num)d équipement", "%(num)d équipements", n),
}
_WORST = ("problem", "unreachable", "warning", "unknown", "maintenance", "ok")


@dataclass(frozen=True)
class DrawnNode:
    id: str
    kind: str  # "device", "group" or "link"
    node: NodeStatus | None  # the device (None for a group)
    state: str  # display state (groups: the worst of their folded members)
    x: float  # top-left corner
    y: float
    width: float
    height: float
    label: str  # the whole label (accessible name, node panel)
    lines: tuple[str, ...]  # what the box shows of it, one string per line
    line_ys: tuple[float, ...]  # baseline of each line
    state_y: float  # baseline of the state line
    state_text: str  # what the state line says after the glyph
    role: str
    role_label: str
    spoken: str  # the accessible name
    tab_index: int
    group: Group | None = None


@dataclass(frozen=True)
class DrawnFrame:
    site: str | None
    title: str
    state: str
    counts: str
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Drawing:
    """One SVG drawing of a member map (the whole map, or one site)."""

    kind: str
    width: float
    height: float
    nodes: list[DrawnNode]
    frames: list[DrawnFrame]
    edges: dict[str, str]  # state class -> SVG path data of the lines into such nodes
    site: str | None = None
    open_groups: tuple[str, ...] = ()


def worst(states) -> str:
    """The worst of display states (``ok`` for none)."""
    states = set(states)
    return next((s for s in _WORST if s in states), "ok")


def state_counts(states) -> str:
    """« 1 en panne, 4 injoignables » (problems first), or « Tout fonctionne »."""
    return wording.count_words(list(states)) or _("Tout fonctionne")


def site_title(site: str | None) -> str:
    return site or _("Équipements")


def layout_of(status: MemberStatus, kind: str, open_groups=(), site=None) -> SiteLayout:
    """The network-map layout of ``status`` (cached on the topology and the fold state)."""
    nodes = status.member_map.nodes
    # The failed ones leave their fold; the ones unreachable behind a failure stay in it
    # (« 8 caméras · 8 injoignables »): the failure is upstream, drawn on its own.
    out = [n.id for n in nodes if display_state(n) in ("problem", "warning")]
    return topology.site_layout_cached(
        status.graph,
        status.member_map.root,
        kind=kind,
        out=out,
        open_groups=open_groups,
        only_site=site,
        signature=status.signature,
        **MAP_SIZES[kind],
    )


def drawing(status: MemberStatus, kind: str, open_groups=(), site: str | None = None) -> Drawing:
    """Place every shown node, frame and line of ``status`` (reading order = layout order)."""
    layout = layout_of(status, kind, tuple(open_groups), site)
    by_id = {node.id: node for node in status.member_map.nodes}
    state_of = {node.id: display_state(node) for node in status.member_map.nodes}
    for gid, group in layout.groups.items():
        state_of[gid] = worst(state_of[m] for m in group.members if m not in group.out)
    box = BOX_TEXT[kind]
    w, h = layout.node_width, layout.node_height
    shown = [i for i in layout.order if i in layout.positions]
    counted = {gid: _group_label(g) for gid, g in layout.groups.items() if gid in layout.positions}
    whose = _whose(counted, layout.groups, by_id)
    labels = [
        by_id[item].label
        if item not in layout.groups
        else f"{counted[item]} · {whose[item]}"  # « 8 caméras » twice: say whose they are
        if item in whose
        else counted[item]
        for item in shown
    ]
    limits = [box["limit"] - (FOLD_SIGN if item in layout.groups else 0) for item in shown]
    texts = node_texts(labels, box["limit"], box["lines"], limits)
    nodes = []
    for index, (item, label, lines) in enumerate(zip(shown, labels, texts, strict=True)):
        group = layout.groups.get(item)
        node = by_id.get(item)
        kind_of = "group" if group else ("link" if item in layout.links else "device")
        height = h
        p = layout.positions[item]
        x, y = p.x - w / 2, p.y - height / 2
        role = group.role if group else node.role
        state = state_of[item]
        line_ys = tuple(y + dy for dy in box["line_ys"][len(lines)])
        state_y = y + box["state_y"]
        nodes.append(
            DrawnNode(
                id=item,
                kind=kind_of,
                node=node,
                state=state,
                x=x,
                y=y,
                width=w,
                height=height,
                label=label,
                lines=lines,
                line_ys=line_ys,
                state_y=state_y,
                state_text=_group_state(group, state_of) if group else "",
                role=role,
                role_label=str(ROLE_LABELS.get(role, ROLE_LABELS["other"])),
                spoken=_spoken_group(group, _group_label(group), state_of, by_id) if group else "",
                tab_index=0 if index == 0 else -1,
                group=group,
            )
        )
    frames = []
    for frame in layout.frames:
        states = [state_of[i] for i in _frame_devices(frame, layout)]
        frames.append(
            DrawnFrame(
                site=frame.site,
                title=site_title(frame.site),
                state=worst(states),
                counts=state_counts(states),
                x=frame.x,
                y=frame.y,
                width=frame.width,
                height=frame.height,
            )
        )
    paths: dict[str, list[str]] = {}
    for edge in layout.edges:
        state = state_of.get(edge.child, "ok")
        if edge.child in layout.groups and layout.groups[edge.child].out:
            state = "ok"  # the failed ones are drawn outside the fold, with their own line
        css = (
            "down" if state in ("problem", "unreachable") else state if state == "unknown" else "ok"
        )
        points = edge.points
        d = f"M{points[0].x:.0f} {points[0].y:.0f}" + "".join(
            f"L{q.x:.0f} {q.y:.0f}" for q in points[1:]
        )
        paths.setdefault(css, []).append(d)
    return Drawing(
        kind=kind,
        width=layout.width,
        height=layout.height,
        nodes=nodes,
        frames=frames,
        edges={k: "".join(v) for k, v in paths.items()},
        site=site,
        open_groups=tuple(open_groups),
    )


def _frame_devices(frame, layout: SiteLayout):
    for item in frame.nodes:
        group = layout.groups.get(item)
        if group:
            yield from (m for m in group.members if m not in group.out or not group.folded)
        else:
            yield item
    for link in layout.links:
        if layout.site_of.get(link) == frame.site:
            yield link


def _whose(counted: dict[str, str], groups: dict[str, Group], by_id) -> dict[str, str]:
    """For the groups that would read the same (« 8 caméras » twice), their parent's
    name without the words all those parents share after the first
    (« Commutateur hôtel communautaire 1 », « … 2 » → « Commutateur 1 », « Commutateur 2 »).
    """
    twins: dict[str, list[str]] = {}
    for gid, text in counted.items():
        twins.setdefault(text, []).append(gid)
    whose = {}
    for same in twins.values():
        if len(same) < 2:
            continue
        words = {gid: by_id[groups[gid].parent].label.split() for gid in same}
        shared = 0
        while all(len(w) > shared + 1 for w in words.values()) and (
            len({w[shared] for w in words.values()}) == 1
        ):
            shared += 1
        for gid, w in words.items():
            whose[gid] = " ".join(w[:1] + w[max(shared, 1) :])
    return whose


def _group_label(group: Group) -> str:
    return ROLE_COUNTS.get(group.role, ROLE_COUNTS["other"])(len(group.members))


def _group_state(group: Group, state_of) -> str:
    """The state line of a group's box: what is inside the fold, as its badge is.

    The failed members are drawn next to the fold, each in its own box: the fold says
    how the others are (« ✓ 3 fonctionnent »), its accessible name tells them all."""
    if not group.out or not group.folded:
        return state_counts([state_of[m] for m in group.members])
    folded = [state_of[m] for m in group.members if m not in group.out]
    return wording.count_words(folded) or ngettext(
        "%(num)d fonctionne", "%(num)d fonctionnent", len(folded)
    )


def _spoken_group(group: Group, label: str, state_of, by_id) -> str:
    parent = by_id.get(group.parent)
    where = parent.label if parent else ""
    text = state_counts([state_of[m] for m in group.members])
    if group.folded:
        return _(
            "Groupe de %(label)s sous %(parent)s : %(state)s. Entrée pour déplier.",
            label=label, parent=where, state=text,
        )  # fmt: skip
    return _(
        "Groupe de %(label)s sous %(parent)s, déplié : %(state)s. Entrée pour replier.",
        label=label, parent=where, state=text,
    )  # fmt: skip


def sites(status: MemberStatus) -> list[dict]:
    """One card per site: its name, worst state, counts and device count (phone view)."""
    layout = layout_of(status, "wide")
    state_of = {node.id: display_state(node) for node in status.member_map.nodes}
    cards = []
    for frame in layout.frames:
        devices = list(_frame_devices(frame, layout))
        states = [state_of[i] for i in devices]
        cards.append(
            {
                "site": frame.site,
                "key": frame.site if frame.site is not None else "_",
                "title": site_title(frame.site),
                "state": worst(states),
                "counts": state_counts(states),
                "devices": len(devices),
            }
        )
    return cards


def main_path(status: MemberStatus) -> list[NodeStatus]:
    """The path that matters first: Internet, the box, the router (the band)."""
    layout = layout_of(status, "wide")
    by_id = {node.id: node for node in status.member_map.nodes}
    return [by_id[i] for i in layout.band if i in by_id]


def map_context(member: Member, open_groups=(), site: str | None = None) -> dict:
    """Everything the map page and its fragments show."""
    context = overview.member_page(member)
    status: MemberStatus | None = context.get("status")
    if status is not None and status.graph is not None:
        context["sites"] = sites(status)
        context["path"] = main_path(status)
    return context


def site_from_key(key: str | None) -> str | None:
    """The site a URL names (``_`` is the devices without a site)."""
    return None if key in (None, "_") else key


def drawing_context(
    member: Member, kind: str, open_groups=(), site: str | None = None, *, whole: bool = True
) -> dict:
    """One drawing (the whole map when ``whole``, else the site ``site``) and its page's texts."""
    context = overview.member_page(member)
    status: MemberStatus | None = context.get("status")
    if status is None or status.graph is None:
        return context
    cards = {card["site"]: card for card in sites(status)}
    if not whole:
        if site not in cards:
            raise NotFound(site or "_")
        layout = layout_of(status, kind, (), site)
        shown = set(layout.order) | {m for g in layout.groups.values() for m in g.members}
        context["site_card"] = cards[site]
        context["site_nodes"] = [n for n in context["nodes"] if n.id in shown]
        context["nodes"] = context["site_nodes"]
    context["drawing"] = drawing(status, kind, open_groups, None if whole else site)
    return context


def node_context(member: Member, hostid: str) -> dict:
    """A node's panel: its problems, cause, role and readable last values."""
    detail = maps.node_detail(member, hostid)
    status = overview_service.status_of(member)
    return {
        "node": detail.node,
        "problems": problems_view.describe_all(detail.node.problems, detail.node.role),
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
    layout = layout_of(status, layout_kind) if status.graph is not None else None
    labels = {n.id: n.label for n in status.member_map.nodes}
    nodes = []
    for node in status.member_map.nodes:
        position = _position(layout, node.id) if layout else None
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
                        "kind": classify(p.name, node.role).value,
                        "impact": impact_of(p.severity).value,
                        "title": problems_view.title_of(p.name, node.role),
                    }
                    for p in node.problems
                ],
                "position": {"x": position.x, "y": position.y} if position else None,
                "group": group.id
                if (group := layout.group_of(node.id) if layout else None)
                and node.id not in layout.positions
                else None,
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
        "band": list(layout.band) if layout else [],
        "sites": [
            {k: card[k] for k in ("site", "state", "counts", "devices")} for card in sites(status)
        ]
        if layout
        else [],
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


def _position(layout: SiteLayout, node_id: str):
    """Where a node is drawn: its own box, or its folded group's."""
    if node_id in layout.positions:
        return layout.positions[node_id]
    group = layout.group_of(node_id)
    return layout.positions.get(group.id) if group else None
