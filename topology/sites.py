"""The member map as a network map: the root band, one titled frame per site, folds.

:func:`site_layout` places a member's devices the way a network engineer draws them:

- the **band** on top: Internet, then the access box and the router(s) of the main
  site, left to right;
- one **frame** per site (the ``site`` attribute, inherited from the parent where
  missing) holding that site's devices as a tidy tree;
- **inter-site links** (``role="link"`` nodes) drawn as labelled pills on the line
  that joins their parent to the frame they lead to, not as boxes inside a frame;
- **groups**: four or more leaves of the same role under one parent fold into one
  node (``group:<parent>:<role>``); the members listed in ``out`` (the failed ones)
  stay outside the fold, next to it; a group listed in ``open_groups`` shows its
  members under it.

Pure and deterministic; :func:`site_layout_cached` memoises it on the topology's
signature and the fold state, so it is computed when a page is drawn, never on the
event path.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from types import MappingProxyType
from types import SimpleNamespace
from typing import Any

import networkx as nx

from topology.exceptions import InvalidDataError
from topology.layout import _tidy_offsets
from topology.layout import topology_signature
from topology.model import Position
from topology.model import Role
from topology.tree import spanning_tree

__all__ = [
    "FOLD_MIN",
    "Edge",
    "Frame",
    "Group",
    "SiteLayout",
    "group_id",
    "site_layout",
    "site_layout_cached",
    "sites_of",
]

#: Fewest leaves of one role under one parent that fold into a group.
FOLD_MIN = 4

_BAND_ROLES = frozenset({Role.ACCESS, Role.ROUTER, Role.FIREWALL})
_NEVER_FOLDED = frozenset({Role.ACCESS, Role.ROUTER, Role.FIREWALL, Role.LINK, Role.INTERNET})
_KINDS = ("wide", "narrow")


@dataclass(frozen=True, slots=True)
class Frame:
    """One site's frame: its box (top-left corner, size) and its nodes in reading order."""

    site: str | None
    x: float
    y: float
    width: float
    height: float
    nodes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Group:
    """Leaves of one role under one parent, drawn as one node while ``folded``."""

    id: str
    parent: str
    role: str
    members: tuple[str, ...]
    out: tuple[str, ...]  # members drawn outside the fold (a problem), in member order
    folded: bool


@dataclass(frozen=True, slots=True)
class Edge:
    """A drawn line from ``parent`` to ``child`` (node, group or link ids), as points."""

    parent: str
    child: str
    points: tuple[Position, ...]


@dataclass(frozen=True, slots=True)
class SiteLayout:
    """Where everything of a member's network map goes (box centres, frames, lines)."""

    kind: str
    width: float
    height: float
    node_width: float
    node_height: float
    positions: Mapping[str, Position]
    order: tuple[str, ...]
    band: tuple[str, ...]
    frames: tuple[Frame, ...]
    groups: Mapping[str, Group]
    links: frozenset[str]
    edges: tuple[Edge, ...]
    site_of: Mapping[str, str | None]
    hidden: frozenset[str] = frozenset()
    stacked: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        for name in ("positions", "groups", "site_of"):
            value = getattr(self, name)
            if not isinstance(value, MappingProxyType):
                object.__setattr__(self, name, MappingProxyType(dict(value)))

    def group_of(self, node_id: str) -> Group | None:
        """The group ``node_id`` belongs to, if any."""
        for group in self.groups.values():
            if node_id in group.members:
                return group
        return None


def group_id(parent: str, role: str) -> str:
    """Stable id of the group of ``role`` leaves under ``parent``.

    >>> group_id("sw-1", "camera")
    'group:sw-1:camera'
    """
    return f"group:{parent}:{role}"


def sites_of(G: nx.DiGraph, tree) -> dict[Any, str | None]:
    """Each node's site: its own ``site`` attribute, else its tree parent's."""
    site: dict[Any, str | None] = {}
    for node in tree.order:
        own = G.nodes[node].get("site")
        parent = tree.parents.get(node)
        site[node] = own or (site.get(parent) if parent is not None else None)
    return site


def _role(G: nx.DiGraph, node: Hashable) -> str:
    return str(G.nodes[node].get("role") or Role.OTHER)


def _band(G: nx.DiGraph, tree, site: Mapping) -> list:
    """The root, then the access boxes and gateways reached from it through such devices,
    in the main site (the first box's)."""
    root = tree.root
    band = [root]
    main = None
    frontier = [root]
    while frontier:
        nxt = []
        for node in frontier:
            for kid in tree.children[node]:
                if _role(G, kid) not in _BAND_ROLES:
                    continue
                if main is None:
                    main = site[kid]
                if site[kid] not in (main, None):
                    continue
                band.append(kid)
                nxt.append(kid)
        frontier = nxt
    return band


def _groups(G, tree, skip: set, out: frozenset, open_groups: frozenset, fold_min: int):
    groups: dict[str, Group] = {}
    for parent in tree.order:
        leaves: dict[str, list] = {}
        for kid in tree.children[parent]:
            if kid in skip or tree.children[kid]:
                continue
            role = _role(G, kid)
            if role not in _NEVER_FOLDED:
                leaves.setdefault(role, []).append(kid)
        for role, kids in leaves.items():
            if len(kids) < fold_min:
                continue
            gid = group_id(str(parent), role)
            groups[gid] = Group(
                id=gid,
                parent=str(parent),
                role=role,
                members=tuple(str(k) for k in kids),
                out=tuple(str(k) for k in kids if k in out),
                folded=gid not in open_groups,
            )
    return groups


def _display_children(tree, groups: Mapping[str, Group], links: set) -> dict:
    """Children as drawn: a folded group replaces its members (its ``out`` ones follow
    it); an open group holds its members."""
    by_parent: dict[Any, list[Group]] = {}
    for group in groups.values():
        by_parent.setdefault(group.parent, []).append(group)
    children: dict[Any, list] = {}
    for node in tree.order:
        kids = list(tree.children[node])
        for group in by_parent.get(str(node), ()):
            members = set(group.members)
            at = next(i for i, k in enumerate(kids) if k in members)
            kids = [k for k in kids if k not in members]
            shown = [group.id] + (list(group.out) if group.folded else [])
            kids[at:at] = shown
            children[group.id] = [] if group.folded else list(group.members)
        children[node] = kids
    for group in groups.values():
        for member in group.members:
            children.setdefault(member, [])
    return children


def _walk(children: Mapping, start) -> list:
    order, stack = [], [start]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(reversed(children.get(node, ())))
    return order


@dataclass(frozen=True, slots=True)
class _Sizes:
    node_width: float
    node_height: float
    h_gap: float
    v_gap: float
    stack_gap: float
    stack_indent: float
    indent: float
    frame_pad: float
    frame_title: float
    frame_gap: float
    lane: float
    max_width: float
    margin: float


def _place_tree(entries: list, children: Mapping, s: _Sizes, kind: str):
    """Positions of a frame's content, relative to the content's top-left corner."""
    if kind == "narrow":
        positions, row = {}, 0
        for entry in entries:
            depth = {entry: 0}
            for node in _walk(children, entry):
                for kid in children.get(node, ()):
                    depth[kid] = depth[node] + 1
                x = min(depth[node], 4) * s.indent + s.node_width / 2
                y = row * (s.node_height + s.v_gap) + s.node_height / 2
                positions[node] = Position(float(x), float(y))
                row += 1
        width = max(p.x for p in positions.values()) + s.node_width / 2
        height = row * (s.node_height + s.v_gap) - s.v_gap
        return positions, frozenset(), width, height
    virtual = object()
    kids = {virtual: list(entries), **{n: list(c) for n, c in children.items()}}
    order = _walk(kids, virtual)
    parents = {virtual: None}
    depths = {virtual: 0}
    for node in order:
        for kid in kids.get(node, ()):
            parents[kid] = node
            depths[kid] = depths[node] + 1
    for node in order:
        kids.setdefault(node, [])
    tree = SimpleNamespace(root=virtual, order=order, children=kids, parents=parents)
    across, pitch = s.node_height, s.node_height + s.v_gap
    stack_parents = {
        n
        for n in order
        if n is not virtual and len(kids[n]) >= 2 and not any(kids[k] for k in kids[n])
    }
    stacks = {
        n: (-(-len(kids[n]) * (across + s.stack_gap) // pitch), s.stack_indent)
        for n in stack_parents
    }
    offsets = _tidy_offsets(tree, s.node_width + s.h_gap, stacks)
    shown = [n for n in order if n is not virtual]
    low = min(offsets[n] for n in shown)
    positions: dict = {}
    stacked = set()
    for node in shown:
        x = offsets[node] - low + s.node_width / 2
        parent = parents[node]
        if parent in stack_parents:
            index = kids[parent].index(node)
            y = positions[parent].y + (index + 1) * (across + s.stack_gap)
            stacked.add(node)
        else:
            y = (depths[node] - 1) * pitch + across / 2
        positions[node] = Position(float(x), float(y))
    width = max(p.x for p in positions.values()) + s.node_width / 2
    height = max(p.y for p in positions.values()) + across / 2
    return positions, frozenset(stacked), width, height


def site_layout(
    G: nx.DiGraph,
    root: Hashable = "internet",
    *,
    kind: str = "wide",
    out: Iterable[str] = (),
    open_groups: Iterable[str] = (),
    only_site: str | None = None,
    fold_min: int = FOLD_MIN,
    node_width: float = 176,
    node_height: float = 64,
    h_gap: float = 20,
    v_gap: float = 40,
    stack_gap: float = 10,
    stack_indent: float = 28,
    indent: float = 14,
    frame_pad: float = 12,
    frame_title: float = 52,
    title_char: float = 9.5,
    frame_gap: float = 24,
    lane: float = 64,
    max_width: float = 1840,
    margin: float = 8,
) -> SiteLayout:
    """Return the network-map layout of ``G`` (see the module's description).

    ``kind="wide"`` draws tidy trees in frames packed in rows under the band;
    ``kind="narrow"`` draws one device per row, frames one under the other (phones).
    ``only_site`` keeps that site's frame alone (with the links leading to it).

    Examples
    --------
    >>> G = nx.DiGraph([("internet", "box"), ("box", "r"), ("r", "s")])
    >>> roles = {"internet": "internet", "box": "access", "r": "router", "s": "switch"}
    >>> for n, role in roles.items():
    ...     G.nodes[n].update(role=role, site="Mairie", label=n)
    >>> L = site_layout(G)
    >>> L.band, [f.site for f in L.frames], L.order
    (('internet', 'box', 'r'), ['Mairie'], ('internet', 'box', 'r', 's'))
    """
    if kind not in _KINDS:
        raise InvalidDataError(f"unknown layout kind {kind!r}")
    if fold_min < 2:
        raise InvalidDataError(f"fold_min must be >= 2, got {fold_min!r}")
    s = _Sizes(
        node_width, node_height, h_gap, v_gap, stack_gap, stack_indent, indent,
        frame_pad, frame_title, frame_gap, lane, max_width, margin,
    )  # fmt: skip
    tree = spanning_tree(G, root)
    site = sites_of(G, tree)
    band = _band(G, tree, site)
    band_set = set(band)
    links = {n for n in tree.order if n not in band_set and _role(G, n) == Role.LINK}
    groups = _groups(G, tree, band_set | links, frozenset(out), frozenset(open_groups), fold_min)
    children = _display_children(tree, groups, links)
    display_parent = {kid: node for node, kids in children.items() for kid in kids}
    hidden = frozenset(m for g in groups.values() if g.folded for m in g.members if m not in g.out)
    for gid, group in groups.items():
        site[gid] = site[next(k for k in tree.order if str(k) == group.members[0])]

    # Frames: the nodes of each site, entered from the band, a link or another site.
    entries: dict[Any, list] = {}
    link_into: dict[Any, list] = {}  # frame site -> link nodes leading to it
    for node in _walk(children, tree.root):
        if node in band_set or node in links or node in hidden:
            continue
        parent = display_parent.get(node)
        if parent is None or parent in band_set or parent in links or site[parent] != site[node]:
            entries.setdefault(site[node], []).append(node)
    for link in links:
        kids = [k for k in children[link] if k not in links]
        target = site[kids[0]] if kids else site[link]
        link_into.setdefault(target, []).append(link)
        entries.setdefault(target, [])
    main = site[band[-1]] if len(band) > 1 else None
    frame_sites = sorted(entries, key=lambda k: k != main)  # the main site first
    if only_site is not None:
        if only_site not in entries:
            raise InvalidDataError(f"unknown site {only_site!r}")
        frame_sites = [only_site]

    def inner(node):  # children drawn inside the same frame
        return [k for k in children.get(node, ()) if k not in links and site[k] == site[node]]

    frame_children = {n: inner(n) for n in children}
    placed = {
        key: _place_tree(entries[key], frame_children, s, kind)
        if entries[key]
        else ({}, frozenset(), s.node_width, 0.0)
        for key in frame_sites
    }

    positions: dict = {}
    stacked: set = set()
    edges: list[Edge] = []
    order: list = []
    w, h = s.node_width, s.node_height
    x0 = y0 = s.margin
    show_band = only_site is None
    if show_band:
        for index, node in enumerate(band):
            if kind == "wide":
                positions[node] = Position(x0 + w / 2 + index * (w + s.h_gap), y0 + h / 2)
            else:
                positions[node] = Position(x0 + w / 2, y0 + h / 2 + index * (h + s.v_gap))
            order.append(node)
        band_bottom = max(p.y for p in positions.values()) + h / 2
    else:
        band_bottom = y0 - s.frame_gap
    link_w = w

    # Pack frames: in rows (wide) or one under the other (narrow).
    frames: list[Frame] = []
    # On a wide drawing with links, a trunk on the left carries the lines from the band
    # down to the links of the lower rows, so that they never cross a frame.
    trunk = s.frame_gap if kind == "wide" and links else 0.0
    detours: dict = {}  # link pill of a lower row -> the y of the gap above its row
    cursor_x, row_top, row_height = x0 + trunk, band_bottom + s.frame_gap, 0.0
    first_row = row_top
    right = x0 + (len(band) * (w + s.h_gap) - s.h_gap if show_band and kind == "wide" else w)
    for key in frame_sites:
        rel, frame_stacked, content_w, content_h = placed[key]
        into = link_into.get(key, [])
        lane = s.lane if links and kind == "wide" or into else 0.0
        title_w = len(str(key or "")) * title_char
        fw = max(content_w, len(into) * (link_w + s.h_gap) - s.h_gap, w, title_w) + 2 * s.frame_pad
        fh = s.frame_title + content_h + s.frame_pad + (s.frame_pad if content_h else 0)
        if kind == "wide" and cursor_x > x0 + trunk and cursor_x + fw > x0 + s.max_width:
            cursor_x, row_top, row_height = x0 + trunk, row_top + row_height + s.frame_gap, 0.0
        fx, fy = cursor_x, row_top + lane
        for index, link in enumerate(sorted(into, key=lambda n: order_key(tree, n))):
            lx = fx + s.frame_pad + link_w / 2 + index * (link_w + s.h_gap)
            positions[link] = Position(lx, fy - lane / 2)
            order.append(link)
            if kind == "wide" and row_top > first_row:
                detours[link] = row_top - s.frame_gap / 2
        content_top = fy + s.frame_title
        members = []
        for node, p in rel.items():
            positions[node] = Position(fx + s.frame_pad + p.x, content_top + p.y)
            members.append(node)
        stacked |= frame_stacked
        reading = [n for e in entries[key] for n in _walk(frame_children, e)]
        order.extend(reading)
        frames.append(Frame(key, fx, fy, fw, fh, tuple(str(n) for n in reading)))
        right = max(right, fx + fw)
        if kind == "wide":
            cursor_x += fw + s.frame_gap
            row_height = max(row_height, lane + fh)
        else:
            row_top += lane + fh + s.frame_gap
    bottom = max(
        [f.y + f.height for f in frames] + [p.y + h / 2 for p in positions.values()] + [y0]
    )

    # Lines, from each drawn node to its drawn children.
    for parent in list(positions):
        a = positions[parent]
        for kid in children.get(parent, ()):
            b = positions.get(kid)
            if b is None:
                continue
            if kid in detours and parent in band_set:
                points = _detour(a, b, x0 + trunk / 2, detours[kid], s)
            else:
                points = _route(a, b, parent, kid, s, kind, stacked, band_set | links)
            edges.append(Edge(str(parent), str(kid), points))
    edges.sort(key=lambda e: order.index(e.child) if e.child in order else len(order))
    return SiteLayout(
        kind=kind,
        width=float(right + s.margin),
        height=float(bottom + s.margin),
        node_width=w,
        node_height=h,
        positions={str(k): v for k, v in positions.items()},
        order=tuple(str(n) for n in order),
        band=tuple(str(n) for n in band) if show_band else (),
        frames=tuple(frames),
        groups=groups,
        links=frozenset(str(n) for n in links if n in positions),
        edges=tuple(edges),
        site_of={str(k): v for k, v in site.items()},
        hidden=hidden,
        stacked=frozenset(str(n) for n in stacked),
    )


def order_key(tree, node) -> int:
    return tree.order.index(node)


def _route(a: Position, b: Position, parent, kid, s: _Sizes, kind: str, stacked, cross) -> tuple:
    """Orthogonal points from box ``a`` to box ``b``.

    ``cross`` holds the nodes whose lines leave their zone (the band, a link pill): the
    line runs along a bus just under its parent, then straight down into the frame.
    """
    w, h = s.node_width, s.node_height
    if kind == "wide" and parent in cross and abs(a.y - b.y) < 1:  # along the band
        return (Position(a.x + w / 2, a.y), Position(b.x - w / 2, b.y))
    y1, y2 = a.y + h / 2, b.y - h / 2
    if kind == "narrow" or kid in stacked:
        x1 = a.x - w / 2 + (8 if kind == "narrow" else 14)
        if x1 >= b.x - w / 2:  # same indentation: straight down
            return (Position(b.x, y1), Position(b.x, y2))
        return (Position(x1, y1), Position(x1, b.y), Position(b.x - w / 2, b.y))
    if parent in cross:
        mid = y1 + min(16.0, (y2 - y1) / 2)
    else:
        mid = y2 - min(s.v_gap / 2, (y2 - y1) / 2)
    if abs(a.x - b.x) < 1:
        return (Position(a.x, y1), Position(b.x, y2))
    return (Position(a.x, y1), Position(a.x, mid), Position(b.x, mid), Position(b.x, y2))


def _detour(a: Position, b: Position, trunk_x: float, gap_y: float, s: _Sizes) -> tuple:
    """From the band down the left trunk, then along the gap above the row, into ``b``."""
    y1 = a.y + s.node_height / 2
    bus = y1 + 16.0
    return (
        Position(a.x, y1),
        Position(a.x, bus),
        Position(trunk_x, bus),
        Position(trunk_x, gap_y),
        Position(b.x, gap_y),
        Position(b.x, b.y - s.node_height / 2),
    )


@functools.lru_cache(maxsize=1024)
def _cached(signature: str, key: tuple, graph_box: list) -> SiteLayout:
    graph = graph_box.pop()  # the cache must not keep graphs alive
    root, kind, out, open_groups, only_site, params = key
    return site_layout(
        graph,
        root,
        kind=kind,
        out=out,
        open_groups=open_groups,
        only_site=only_site,
        **dict(params),
    )


class _Box(list):
    """A list that compares equal to every other: lets the graph ride through the cache."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Box)

    def __hash__(self) -> int:
        return 0


def site_layout_cached(
    G: nx.DiGraph,
    root: Hashable = "internet",
    *,
    kind: str = "wide",
    out: Iterable[str] = (),
    open_groups: Iterable[str] = (),
    only_site: str | None = None,
    signature: str | None = None,
    **params: Any,
) -> SiteLayout:
    """:func:`site_layout`, memoised on the topology's signature and the fold state.

    ``signature`` is :func:`topology.layout.topology_signature` of ``G`` when the
    caller already has it (it costs a walk over the graph).
    """
    signature = signature or topology_signature(G, root)
    key = (
        root,
        kind,
        tuple(sorted(out)),
        tuple(sorted(open_groups)),
        only_site,
        tuple(sorted(params.items())),
    )
    return _cached(signature, key, _Box([G]))
