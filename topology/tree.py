"""The deterministic spanning tree of a member's graph, shared by layout and impact.

Siblings are ordered by site, role rank and label (:func:`sibling_key`), so the same
estate always gives the same tree, the same drawing and the same incident wording.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from types import MappingProxyType
from typing import Any

import networkx as nx

from topology.exceptions import UnknownRootError
from topology.model import ROLE_ORDER
from topology.model import SpanningTree

__all__ = ["sibling_key", "spanning_tree"]


def natural(text: str) -> tuple:
    """``text`` as a sort key where numbers count (« … 2 » before « … 10 »).

    >>> sorted(["Commutateur 10", "Commutateur 2", "commutateur 1"], key=natural)
    ['commutateur 1', 'Commutateur 2', 'Commutateur 10']
    """
    parts = re.split(r"(\d+)", text.casefold())
    return tuple(int(part) if index % 2 else part for index, part in enumerate(parts))


def sibling_key(G: nx.DiGraph, node: Hashable) -> tuple[str, int, tuple, str]:
    """Sort key of a node among its siblings: site, then role rank, then label.

    Nodes without a ``site`` come first, unknown roles last; numbers in labels sort
    as numbers (« Commutateur 2 » before « Commutateur 10 »).

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> G.add_node("a", label="Caméra", role="camera", site="Mairie")
    >>> G.add_node("b", label="NAS", role="nas", site="Mairie")
    >>> sorted(G, key=lambda n: sibling_key(G, n))
    ['b', 'a']
    """
    data = G.nodes[node]
    site = data.get("site") or ""
    role = data.get("role")
    rank = ROLE_ORDER.get(role, len(ROLE_ORDER)) if role else len(ROLE_ORDER)
    label = str(data.get("label", node))
    return (site.casefold(), rank, natural(label), str(node))


def spanning_tree(G: nx.DiGraph, root: Hashable = "internet") -> SpanningTree:
    """Return the deterministic spanning tree of ``G`` from ``root``.

    Each node keeps its ``primary`` in-edge when it has one (edges without the
    attribute count as primary), otherwise the in-edge from the shallowest,
    first-sorted parent. Children are ordered with :func:`sibling_key`. Parts
    of ``G`` not reachable from ``root`` hang under the root without an edge.

    Raises
    ------
    UnknownRootError
        ``root`` is not a node of ``G``.

    Examples
    --------
    >>> G = nx.DiGraph([("r", "b"), ("r", "a"), ("a", "c"), ("b", "c")])
    >>> T = spanning_tree(G, "r")
    >>> T.order, T.tree_edges, T.extra_edges
    (('r', 'a', 'c', 'b'), (('r', 'a'), ('a', 'c'), ('r', 'b')), (('b', 'c'),))
    """
    if root not in G:
        raise UnknownRootError(root)
    key = {n: sibling_key(G, n) for n in G}
    parents: dict[Any, Any] = {root: None}

    def bfs(start: Hashable, primary_only: bool) -> None:
        """Breadth-first from ``start``, one level at a time, parents in sorted order.

        Nodes that already have a parent are walked through but keep it.
        """
        seen = {start}
        frontier = [start]
        while frontier:
            nxt = []
            for u in sorted(frontier, key=key.__getitem__):
                for v in sorted(G.successors(u), key=key.__getitem__):
                    if v in seen:
                        continue
                    if primary_only and not G.edges[u, v].get("primary", True):
                        continue
                    seen.add(v)
                    nxt.append(v)
                    parents.setdefault(v, u)
            frontier = nxt

    bfs(root, primary_only=True)
    bfs(root, primary_only=False)
    while len(parents) < len(G):
        rest = [n for n in G if n not in parents]
        top = min(rest, key=lambda n: (G.in_degree(n) > 0, key[n]))
        parents[top] = None  # hangs under the root, no edge
        bfs(top, primary_only=True)
        bfs(top, primary_only=False)

    children: dict[Any, list] = {n: [] for n in G}
    virtual: list = []
    for n, p in parents.items():
        if n == root:
            continue
        if p is None:
            virtual.append(n)
        else:
            children[p].append(n)
    children[root].extend(virtual)
    for kids in children.values():
        kids.sort(key=key.__getitem__)

    order: list = []
    depths: dict[Any, int] = {root: 0}
    stack = [root]
    while stack:
        u = stack.pop()
        order.append(u)
        for v in reversed(children[u]):
            depths[v] = depths[u] + 1
            stack.append(v)

    tree_edges = tuple((parents[n], n) for n in order if parents.get(n) is not None)
    tree_set = set(tree_edges)
    position = {n: i for i, n in enumerate(order)}
    extra_edges = tuple(
        sorted(
            (e for e in G.edges if e not in tree_set),
            key=lambda e: (position[e[1]], position[e[0]]),
        )
    )
    return SpanningTree(
        root=root,
        parents=MappingProxyType(parents),
        children=MappingProxyType({n: tuple(c) for n, c in children.items()}),
        order=tuple(order),
        depths=MappingProxyType(depths),
        tree_edges=tree_edges,
        extra_edges=extra_edges,
    )
