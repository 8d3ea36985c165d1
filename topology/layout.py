"""Place the nodes of a member map.

:func:`layered_layout` draws a tidy tree: the root at the top (or the left),
one layer per depth, every subtree kept contiguous and each parent centred
above its children, so a tree is drawn without overlaps or edge crossings.
Nodes with several parents are placed with the spanning tree from
:func:`topology.tree.spanning_tree`; their extra edges are listed apart.

:func:`narrow_layout` is the phone version: one node per row, indented by
depth, readable on a 360 px wide screen.

:func:`layout_cached` memoises both on a signature of the topology.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Hashable
from typing import Any

import networkx as nx

from topology.exceptions import InvalidDataError
from topology.model import Layout
from topology.model import Position
from topology.tree import spanning_tree

__all__ = [
    "LAYOUT_CACHE_SIZE",
    "layered_layout",
    "layout_cache_clear",
    "layout_cache_info",
    "layout_cached",
    "narrow_layout",
    "topology_signature",
]

#: Number of layouts kept by :func:`layout_cached`.
LAYOUT_CACHE_SIZE = 2048

_MODES = ("vertical", "horizontal", "narrow")


def _check_sizes(**sizes: float) -> None:
    for name, value in sizes.items():
        if name in ("node_width", "node_height"):
            if not value > 0:
                raise InvalidDataError(f"{name} must be > 0, got {value!r}")
        elif not value >= 0:
            raise InvalidDataError(f"{name} must be >= 0, got {value!r}")


def _stack_parents(tree, stack_leaves: int) -> set:
    """Parents whose children are all leaves, at least ``stack_leaves`` of them."""
    if stack_leaves < 1:
        return set()
    children = tree.children
    return {
        node
        for node in tree.order
        if len(children[node]) >= stack_leaves and all(not children[kid] for kid in children[node])
    }


def _tidy_offsets(tree, separation: float, stacks: dict | None = None) -> dict[Any, float]:
    """Return each node's breadth coordinate, root at 0 (tidy tree, contour packing).

    Subtrees are packed left to right: each one is pushed right until, on
    every level they share, its left contour is ``separation`` away from the
    right contour of the subtrees already placed. The parent is then centred
    between its first and last child. ``stacks`` maps a parent to
    ``(levels, shift)``: its leaves form one column ``shift`` to the right of
    it, occupying ``levels`` layers.
    """
    children = tree.children
    stacks = stacks or {}
    contour: dict[Any, list[tuple[float, float]]] = {}
    offset: dict[Any, float] = {}
    for node in reversed(tree.order):  # children before parents
        kids = children[node]
        if not kids:
            contour[node] = [(0.0, 0.0)]
            continue
        if node in stacks:
            levels, shift = stacks[node]
            for kid in kids:
                contour.pop(kid)
                offset[kid] = shift
            contour[node] = [(0.0, 0.0)] + [(shift, shift)] * levels
            continue
        acc = contour.pop(kids[0])
        rel = [0.0]
        for kid in kids[1:]:
            other = contour.pop(kid)
            shared = min(len(acc), len(other))
            shift = max(acc[level][1] - other[level][0] for level in range(shared)) + separation
            rel.append(shift)
            for level, (lo, hi) in enumerate(other):
                if level < len(acc):
                    acc[level] = (acc[level][0], hi + shift)
                else:
                    acc.append((lo + shift, hi + shift))
        mid = (rel[0] + rel[-1]) / 2
        for kid, r in zip(kids, rel, strict=True):
            offset[kid] = r - mid
        acc = [(lo - mid, hi - mid) for lo, hi in acc]
        acc.insert(0, (0.0, 0.0))
        contour[node] = acc

    absolute = {tree.root: 0.0}
    for node in tree.order[1:]:
        absolute[node] = absolute[tree.parents[node] or tree.root] + offset[node]
    return absolute


def layered_layout(
    G: nx.DiGraph,
    root: Hashable = "internet",
    *,
    node_width: float = 160,
    node_height: float = 48,
    h_gap: float = 24,
    v_gap: float = 64,
    margin: float = 16,
    orientation: str = "vertical",
    stack_leaves: int = 0,
    stack_gap: float = 12,
    stack_indent: float = 28,
) -> Layout:
    """Return a layered tidy-tree layout of ``G``.

    Parameters
    ----------
    G : networkx.DiGraph
        Downstream graph (edges ``parent -> child``), e.g. from
        :func:`topology.build_graph`.
    root : node
        The top node.
    node_width, node_height : float
        Size of every node box, in pixels.
    h_gap, v_gap : float
        Horizontal and vertical space between boxes.
    margin : float
        Space around the drawing.
    orientation : {"vertical", "horizontal"}
        ``vertical`` puts the root at the top and one layer per depth below;
        ``horizontal`` puts the root on the left and layers to the right.
    stack_leaves : int
        When ``>= 1`` (vertical only), a parent whose children are all leaves,
        at least that many, gets them in one column below it, ``stack_indent``
        to the right and ``stack_gap`` apart, instead of side by side: a switch
        with twenty cameras stays one box wide. ``0`` (default) never stacks.
    stack_gap, stack_indent : float
        Spacing of stacked leaves.

    Returns
    -------
    Layout
        Box centres; siblings are grouped by site, then sorted by role and
        label. The same topology always gives the same layout.

    Raises
    ------
    UnknownRootError
        ``root`` is not in ``G``.
    InvalidDataError
        A size is not positive, or ``orientation`` is unknown.

    Examples
    --------
    >>> G = nx.DiGraph([("r", "a"), ("r", "b")])
    >>> L = layered_layout(G, "r", node_width=10, node_height=10, h_gap=10, v_gap=10, margin=0)
    >>> [(n, p.x, p.y) for n, p in L.positions.items()]
    [('r', 15.0, 5.0), ('a', 5.0, 25.0), ('b', 25.0, 25.0)]
    >>> L.width, L.height
    (30.0, 30.0)
    """
    if orientation not in ("vertical", "horizontal"):
        raise InvalidDataError(f"unknown orientation {orientation!r}")
    _check_sizes(
        node_width=node_width, node_height=node_height, h_gap=h_gap, v_gap=v_gap, margin=margin
    )
    tree = spanning_tree(G, root)
    vertical = orientation == "vertical"
    breadth, across = (node_width, node_height) if vertical else (node_height, node_width)
    gap, layer_gap = (h_gap, v_gap) if vertical else (v_gap, h_gap)

    pitch = across + layer_gap
    stack_parents = _stack_parents(tree, stack_leaves) if vertical else set()
    stacks = {
        node: (math.ceil(len(tree.children[node]) * (across + stack_gap) / pitch), stack_indent)
        for node in stack_parents
    }
    offsets = _tidy_offsets(tree, breadth + gap, stacks)
    low = min(offsets.values())
    span = max(offsets.values()) - low
    positions = {}
    stacked = set()
    for node in tree.order:
        b = margin + breadth / 2 + offsets[node] - low
        parent = tree.parents.get(node)
        if parent in stack_parents:
            index = tree.children[parent].index(node)
            d = positions[parent].y + across + stack_gap + index * (across + stack_gap)
            stacked.add(node)
        else:
            d = margin + across / 2 + tree.depths[node] * pitch
        positions[node] = Position(b, d) if vertical else Position(d, b)
    extent_b = span + breadth + 2 * margin
    deepest = max((p.y if vertical else p.x) for p in positions.values())
    extent_d = deepest + across / 2 + margin
    width, height = (extent_b, extent_d) if vertical else (extent_d, extent_b)
    return Layout(
        width=float(width),
        height=float(height),
        positions=positions,
        node_width=node_width,
        node_height=node_height,
        orientation=orientation,
        order=tree.order,
        depths=tree.depths,
        tree_edges=tree.tree_edges,
        extra_edges=tree.extra_edges,
        stacked=frozenset(stacked),
    )


def narrow_layout(
    G: nx.DiGraph,
    root: Hashable = "internet",
    *,
    node_width: float = 260,
    node_height: float = 36,
    v_gap: float = 8,
    indent: float = 16,
    max_indent_depth: int = 5,
    margin: float = 8,
) -> Layout:
    """Return an indented one-node-per-row layout for narrow (phone) screens.

    Nodes are listed in tree pre-order, the same order as
    :func:`layered_layout` reads left to right. Each row is indented by
    ``indent`` per depth, up to ``max_indent_depth`` levels, so the width
    stays ``2 * margin + max_indent_depth * indent + node_width`` at most
    (356 px with the defaults).

    Examples
    --------
    >>> G = nx.DiGraph([("r", "a"), ("a", "b"), ("r", "c")])
    >>> L = narrow_layout(G, "r", node_width=100, node_height=20, v_gap=0, indent=10, margin=0)
    >>> [(n, p.x, p.y) for n, p in L.positions.items()]
    [('r', 50.0, 10.0), ('a', 60.0, 30.0), ('b', 70.0, 50.0), ('c', 60.0, 70.0)]
    >>> L.width, L.height
    (120.0, 80.0)
    """
    _check_sizes(
        node_width=node_width,
        node_height=node_height,
        v_gap=v_gap,
        indent=indent,
        max_indent_depth=max_indent_depth,
        margin=margin,
    )
    tree = spanning_tree(G, root)
    positions = {}
    deepest = 0
    for row, node in enumerate(tree.order):
        level = min(tree.depths[node], max_indent_depth)
        deepest = max(deepest, level)
        x = margin + level * indent + node_width / 2
        y = margin + row * (node_height + v_gap) + node_height / 2
        positions[node] = Position(float(x), float(y))
    rows = len(tree.order)
    return Layout(
        width=float(2 * margin + deepest * indent + node_width),
        height=float(2 * margin + rows * node_height + (rows - 1) * v_gap),
        positions=positions,
        node_width=node_width,
        node_height=node_height,
        orientation="narrow",
        order=tree.order,
        depths=tree.depths,
        tree_edges=tree.tree_edges,
        extra_edges=tree.extra_edges,
    )


def topology_signature(G: nx.DiGraph, root: Hashable = "internet", **params: Any) -> str:
    """Return a hex digest of what a layout of ``G`` depends on.

    It covers the nodes with their ``label``, ``role`` and ``site`` (they
    decide the sibling order), the edges with their ``primary`` flag, the
    root and the layout parameters; the insertion order does not matter.

    Examples
    --------
    >>> a = nx.DiGraph([("r", "x"), ("r", "y")])
    >>> b = nx.DiGraph([("r", "y"), ("r", "x")])
    >>> topology_signature(a, "r") == topology_signature(b, "r")
    True
    >>> topology_signature(a, "r") == topology_signature(a, "r", mode="narrow")
    False
    """
    nodes = sorted(
        (str(n), str(d.get("label", n)), str(d.get("role")), str(d.get("site")))
        for n, d in G.nodes(data=True)
    )
    edges = sorted((str(u), str(v), bool(d.get("primary", True))) for u, v, d in G.edges(data=True))
    blob = repr((str(root), sorted(params.items()), nodes, edges)).encode()
    return hashlib.blake2b(blob, digest_size=20).hexdigest()


class _Keyed:
    """Cache key: equal and hashed on the signature, carries the graph until computed."""

    __slots__ = ("graph", "signature")

    def __init__(self, signature: str, graph: nx.DiGraph | None) -> None:
        self.signature = signature
        self.graph = graph

    def __hash__(self) -> int:
        return hash(self.signature)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Keyed) and other.signature == self.signature


@functools.lru_cache(maxsize=LAYOUT_CACHE_SIZE)
def _layout_for(key: _Keyed, root: Hashable, mode: str, params: tuple) -> Layout:
    graph, key.graph = key.graph, None  # the cache must not keep graphs alive
    kwargs = dict(params)
    if mode == "narrow":
        return narrow_layout(graph, root, **kwargs)
    return layered_layout(graph, root, orientation=mode, **kwargs)


def layout_cached(
    G: nx.DiGraph, root: Hashable = "internet", *, mode: str = "vertical", **params: Any
) -> Layout:
    """Return the layout of ``G``, memoised on :func:`topology_signature`.

    ``mode`` is ``"vertical"`` or ``"horizontal"`` (:func:`layered_layout`)
    or ``"narrow"`` (:func:`narrow_layout`); ``params`` are passed to that
    function. At most :data:`LAYOUT_CACHE_SIZE` layouts are kept (least
    recently used dropped first). Layouts are immutable and shared.

    Examples
    --------
    >>> layout_cache_clear()
    >>> G = nx.DiGraph([("r", "a")])
    >>> layout_cached(G, "r") is layout_cached(nx.DiGraph([("r", "a")]), "r")
    True
    >>> layout_cache_info().hits
    1
    """
    if mode not in _MODES:
        raise InvalidDataError(f"unknown layout mode {mode!r}")
    signature = topology_signature(G, root, mode=mode, **params)
    return _layout_for(_Keyed(signature, G), root, mode, tuple(sorted(params.items())))


def layout_cache_info():
    """Return ``(hits, misses, maxsize, currsize)`` of the layout cache."""
    return _layout_for.cache_info()


def layout_cache_clear() -> None:
    """Empty the layout cache."""
    _layout_for.cache_clear()
