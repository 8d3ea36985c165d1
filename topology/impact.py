"""Work out the state of every node and group problems into incidents.

Rules, for each host node:

* ``maintenance``: the host is in maintenance (whatever else happens);
* ``unreachable``: every path from the root goes through a *down* node, i.e.
  a node in ``problem`` state, i.e. with a severity of at least
  ``down_severity`` (HIGH by default). Its ``cause`` is the highest down node on its tree path;
* ``problem`` (down): it has a non-suppressed problem of at least ``down_severity``;
* ``warning``: its worst non-suppressed problem is at least ``min_severity`` but
  below ``down_severity``: the node works, something needs a look;
* ``unknown``: its own data stopped (``available == "unavailable"`` or the
  last value is older than ``stale_after_s``);
* ``ok`` otherwise.

A down node that is reachable is a root cause: it opens one incident listing
the nodes it makes unreachable, whose problems are folded into it. Every other
reachable node in ``warning`` state opens its own incident, with no affected
node. The member is ``problem`` when something is down or unreachable,
``warning`` when something only warns: the same words as its nodes. A node in
maintenance is never down, so it hides nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import networkx as nx

from topology.build import build_graph
from topology.exceptions import InvalidDataError
from topology.layout import layout_cached
from topology.model import DependencyInfo
from topology.model import HostInfo
from topology.model import Incident
from topology.model import IncidentKind
from topology.model import IncidentSummary
from topology.model import Layout
from topology.model import MemberMap
from topology.model import MemberState
from topology.model import NodeState
from topology.model import NodeStatus
from topology.model import ProblemInfo
from topology.model import Severity
from topology.model import Summary
from topology.tree import spanning_tree

__all__ = ["analyse", "member_map", "summarise"]


def _problem_key(p: ProblemInfo) -> tuple:
    return (-p.severity, p.since, p.eventid)


def _is_stale(host: HostInfo | None, stale_after_s: float) -> tuple[bool, float | None]:
    if host is None:
        return False, None
    aged = host.last_data_age_s is not None and host.last_data_age_s > stale_after_s
    stale = aged or host.available == "unavailable"
    return stale, host.last_data_age_s if aged else None


def analyse(
    G: nx.DiGraph,
    problems: Iterable[ProblemInfo],
    *,
    now: datetime,
    stale_after_s: float,
    min_severity: int = Severity.WARNING,
    down_severity: int = Severity.HIGH,
    root: Hashable | None = None,
    layout: Layout | None = None,
) -> MemberMap:
    """Return the state of every node of ``G`` and the incidents of the member.

    Parameters
    ----------
    G : networkx.DiGraph
        Downstream graph from :func:`topology.build_graph` (node ids are
        hostids; the ``host`` node attribute gives maintenance and
        availability, and is optional).
    problems : iterable of ProblemInfo
        Problems firing now. Suppressed ones, those below ``min_severity`` and
        those of hosts not in ``G`` are ignored.
    now : datetime
        Reference time, stored as ``at`` in the result (:func:`summarise`
        computes durations from it). It must be comparable with the
        problems' ``since`` (both naive or both aware).
    stale_after_s : float
        Age of the last data beyond which a host is ``unknown``.
    min_severity : int
        Lowest severity that counts (WARNING by default).
    down_severity : int
        Severity from which a node is *down* (``problem``) and hides its
        descendants; below it, a node with problems is ``warning``.
    root : node, optional
        Root node; ``G.graph["root"]`` or ``"internet"`` by default.
    layout : Layout, optional
        Stored as is in the result.

    Returns
    -------
    MemberMap

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> G = nx.DiGraph([("internet", "rtr"), ("rtr", "pc1"), ("rtr", "pc2")])
    >>> t = datetime(2025, 1, 6, 8, 0, tzinfo=timezone.utc)
    >>> down = ProblemInfo("e1", "rtr", "Unreachable by ICMP", Severity.HIGH, t)
    >>> m = analyse(G, [down], now=t, stale_after_s=600)
    >>> for n in m.nodes:
    ...     print(n.id, n.state, n.cause)
    internet ok None
    rtr problem None
    pc1 unreachable rtr
    pc2 unreachable rtr
    >>> [(i.root, i.kind.value, i.affected) for i in m.incidents]
    [('rtr', 'down', ('pc1', 'pc2'))]
    >>> m.overall.value
    'problem'
    """
    if stale_after_s < 0:
        raise InvalidDataError("stale_after_s must be >= 0")
    if root is None:
        root = G.graph.get("root", "internet")
    tree = spanning_tree(G, root)

    own: dict[Any, list[ProblemInfo]] = defaultdict(list)
    for p in problems:
        try:
            now - p.since
        except TypeError:
            raise InvalidDataError(
                "`now` and problem `since` mix naive and aware datetimes"
            ) from None
        if p.suppressed or p.severity < min_severity or p.hostid not in G or p.hostid == root:
            continue
        own[p.hostid].append(p)
    for plist in own.values():
        plist.sort(key=_problem_key)

    # Own state, before propagation.
    state: dict[Any, NodeState] = {}
    stale_age: dict[Any, float | None] = {}
    for node in tree.order:
        host = G.nodes[node].get("host")
        stale, age = _is_stale(host, stale_after_s)
        stale_age[node] = age
        if node == root:
            state[node] = NodeState.OK
        elif host is not None and host.in_maintenance:
            state[node] = NodeState.MAINTENANCE
        elif own.get(node):
            state[node] = NodeState.PROBLEM
        elif stale:
            state[node] = NodeState.UNKNOWN
        else:
            state[node] = NodeState.OK
    severity = {n: own[n][0].severity if own.get(n) else None for n in tree.order}
    down = {
        n
        for n in tree.order
        if state[n] is NodeState.PROBLEM
        and severity[n] is not None
        and severity[n] >= down_severity
    }
    for n in tree.order:  # working, with something to look at
        if state[n] is NodeState.PROBLEM and n not in down:
            state[n] = NodeState.WARNING

    # Reachability from the root without going through a down node.
    reached = {root}
    stack = [root]
    while stack:
        u = stack.pop()
        if u in down:
            continue
        for v in G.successors(u):
            if v not in reached:
                reached.add(v)
                stack.append(v)
    connected = set(nx.descendants(G, root)) | {root}

    cause: dict[Any, Any] = {}
    for node in tree.order:  # parents first: the cause is inherited down the tree
        if node in reached or node not in connected:
            continue
        parent = tree.parents[node]
        cause[node] = parent if parent in down and parent in reached else cause.get(parent)
        if cause[node] is None:  # defensive: no down node on the tree path
            del cause[node]
            continue
        if state[node] is not NodeState.MAINTENANCE:
            state[node] = NodeState.UNREACHABLE

    affected: dict[Any, list] = defaultdict(list)
    for node in tree.order:
        if state[node] is NodeState.UNREACHABLE:
            affected[cause[node]].append(node)

    incidents = []
    for node in tree.order:
        if state[node] not in (NodeState.PROBLEM, NodeState.WARNING) or node not in reached:
            continue
        data = G.nodes[node]
        worst = severity[node]
        is_down = node in down
        hidden = affected.get(node, []) if is_down else []
        folded = sorted((p for n in hidden for p in own.get(n, ())), key=_problem_key)
        incidents.append(
            Incident(
                root=node,
                label=str(data.get("label", node)),
                role=data.get("role") or "other",
                site=data.get("site"),
                kind=IncidentKind.DOWN if is_down else IncidentKind.PROBLEM,
                severity=worst,
                since=min(p.since for p in own[node] if p.severity == worst),
                affected=tuple(hidden),
                problems=tuple(own[node]),
                folded=tuple(folded),
                acknowledged=all(p.acknowledged for p in own[node]),
                acknowledged_at=min(
                    (p.acknowledged_at for p in own[node] if p.acknowledged_at is not None),
                    default=None,
                ),
            )
        )
    incidents.sort(key=lambda i: (-i.severity, i.since, i.label.casefold(), str(i.root)))

    nodes = []
    for node in tree.order:
        data = G.nodes[node]
        nodes.append(
            NodeStatus(
                id=node,
                label=str(data.get("label", node)),
                role=data.get("role") or "other",
                site=data.get("site"),
                state=state[node],
                severity=severity[node],
                problems=tuple(own.get(node, ())),
                cause=cause.get(node) if state[node] is NodeState.UNREACHABLE else None,
                stale_age_s=stale_age[node],
                parent=tree.parents[node],
                depth=tree.depths[node],
                down=node in down,
            )
        )

    counts = dict.fromkeys(NodeState, 0)
    for node in tree.order:
        if node != root:
            counts[state[node]] += 1

    if counts[NodeState.PROBLEM] or counts[NodeState.UNREACHABLE]:
        overall = MemberState.PROBLEM
    elif incidents:
        overall = MemberState.WARNING
    elif counts[NodeState.UNKNOWN]:
        overall = MemberState.UNKNOWN
    else:
        overall = MemberState.OK

    return MemberMap(
        root=root,
        nodes=tuple(nodes),
        edges=tree.tree_edges,
        extra_edges=tree.extra_edges,
        incidents=tuple(incidents),
        overall=overall,
        counts=counts,
        warnings=tuple(G.graph.get("warnings", ())),
        layout=layout,
        at=now,
    )


def summarise(result: MemberMap, *, now: datetime | None = None) -> Summary:
    """Return structured figures about ``result`` (no sentences).

    Durations are counted up to ``now``, by default the time of the analysis
    (``result.at``).

    Examples
    --------
    >>> from datetime import datetime, timedelta, timezone
    >>> t = datetime(2025, 1, 6, 8, 0, tzinfo=timezone.utc)
    >>> G = nx.DiGraph([("internet", "nas")])
    >>> disk = ProblemInfo("e1", "nas", "Disk 92 %", Severity.WARNING, t)
    >>> s = summarise(analyse(G, [disk], now=t, stale_after_s=600), now=t + timedelta(hours=1))
    >>> s.overall.value, s.hosts, s.counts["warning"], s.counts["problem"]
    ('warning', 1, 1, 0)
    >>> [(i.label, i.kind.value, i.duration_s, i.affected_count) for i in s.incidents]
    [('nas', 'problem', 3600.0, 0)]
    """
    now = now or result.at
    if now is None:
        raise InvalidDataError("summarise() needs `now` when the result has no `at`")
    incidents = []
    for inc in result.incidents:
        try:
            duration = max(0.0, (now - inc.since).total_seconds())
        except TypeError as exc:  # naive vs aware datetimes
            raise InvalidDataError(str(exc)) from None
        incidents.append(
            IncidentSummary(
                root=inc.root,
                label=inc.label,
                role=inc.role,
                site=inc.site,
                kind=inc.kind,
                severity=inc.severity,
                since=inc.since,
                duration_s=duration,
                affected_count=len(inc.affected),
                problem_count=len(inc.problems) + len(inc.folded),
                acknowledged=inc.acknowledged,
                acknowledged_at=inc.acknowledged_at,
            )
        )
    return Summary(
        overall=result.overall,
        hosts=sum(result.counts.values()),
        counts=result.counts,
        incidents=tuple(incidents),
        worst_severity=max((i.severity for i in result.incidents), default=None),
    )


def member_map(
    hosts: Iterable[HostInfo],
    dependencies: Iterable[DependencyInfo],
    problems: Iterable[ProblemInfo],
    *,
    now: datetime,
    stale_after_s: float,
    min_severity: int = Severity.WARNING,
    mode: str | None = "vertical",
    root_id: str = "internet",
    **layout_params: Any,
) -> MemberMap:
    """Build, lay out (cached) and analyse one member in a single call.

    ``mode`` and ``layout_params`` go to :func:`topology.layout_cached`;
    ``mode=None`` skips the layout.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> hosts = [HostInfo("1", "box", "Box", role="access", available="available")]
    >>> m = member_map(hosts, [], [], now=datetime(2025, 1, 6), stale_after_s=600)
    >>> m.overall.value, m.layout.positions["1"].y > m.layout.positions["internet"].y
    ('ok', True)
    """
    G = build_graph(hosts, dependencies, root_id=root_id)
    layout = layout_cached(G, root_id, mode=mode, **layout_params) if mode else None
    return analyse(
        G,
        problems,
        now=now,
        stale_after_s=stale_after_s,
        min_severity=min_severity,
        root=root_id,
        layout=layout,
    )
