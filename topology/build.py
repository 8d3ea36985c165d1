"""Build the dependency graph of one member's equipment.

The graph is a :class:`networkx.DiGraph` whose edges go downstream, from a
parent to the equipment that depends on it, under a synthetic ``internet``
root. Each host gets exactly one *primary* parent, chosen in this order:

1. a trigger dependency (the host depends on ``X``: ``X`` is the parent);
2. the ``parent`` host tag, naming another host of the member by its
   technical name;
3. inference from the roles and the ``site`` tags (access box under the
   Internet, router under the box, switches under the router of their site,
   end devices under a switch of their site...).

Extra trigger dependencies are kept as non-primary edges
(``primary=False``). Cycles in the declared parents are broken
deterministically and reported in ``G.graph["warnings"]``.
"""

from __future__ import annotations

from collections import Counter
from collections import defaultdict
from collections.abc import Iterable

import networkx as nx

from topology.exceptions import DuplicateHostError
from topology.model import ROLE_ORDER
from topology.model import BuildWarning
from topology.model import DependencyInfo
from topology.model import HostInfo
from topology.model import ParentSource
from topology.model import Role
from topology.model import WarningCode
from topology.roles import GATEWAYS
from topology.roles import infer_role

__all__ = ["build_graph"]


def _host_key(host: HostInfo) -> tuple[str, str, str]:
    return (host.label.casefold(), host.host, host.hostid)


class _Resolver:
    """Works out the primary parents of the hosts of one member."""

    def __init__(
        self,
        hosts: list[HostInfo],
        dependencies: Iterable[DependencyInfo],
        root_id: str,
    ) -> None:
        self.hosts = hosts
        self.root_id = root_id
        self.by_id = {h.hostid: h for h in hosts}
        self.rank = {h.hostid: i for i, h in enumerate(hosts)}  # hosts are sorted
        self.role = {h.hostid: infer_role(h) for h in hosts}
        self.warnings: list[BuildWarning] = []
        self.main_site = self._main_site()
        self.site = {h.hostid: h.site or self.main_site for h in hosts}
        self.dep_targets = self._dependency_targets(dependencies)
        # Parent tag look-ups: technical name, then case-insensitive, then visible name.
        self.by_name: dict[str, list[str]] = defaultdict(list)
        self.by_name_folded: dict[str, list[str]] = defaultdict(list)
        self.by_label_folded: dict[str, list[str]] = defaultdict(list)
        for h in hosts:
            self.by_name[h.host].append(h.hostid)
            self.by_name_folded[h.host.casefold()].append(h.hostid)
            self.by_label_folded[h.name.casefold()].append(h.hostid)
        self.tag_parent = {h.hostid: self._tag_parent(h) for h in hosts}
        self.inferred = self._inferred_parents()

    # -- declared parents -----------------------------------------------------------

    def _dependency_targets(self, dependencies: Iterable[DependencyInfo]) -> dict[str, list[str]]:
        targets: dict[str, set[str]] = defaultdict(set)
        for dep in dependencies:
            if dep.hostid not in self.by_id:
                continue  # a dependency of a host outside this member
            if dep.depends_on == dep.hostid:
                self.warnings.append(BuildWarning(WarningCode.SELF_PARENT, dep.hostid))
            elif dep.depends_on not in self.by_id:
                self.warnings.append(
                    BuildWarning(WarningCode.UNKNOWN_DEPENDENCY, dep.hostid, dep.depends_on)
                )
            else:
                targets[dep.hostid].add(dep.depends_on)
        return {hid: sorted(t, key=self.rank.__getitem__) for hid, t in targets.items()}

    def _tag_parent(self, host: HostInfo) -> str | None:
        name = host.parent
        if name is None:
            return None
        found = (
            self.by_name.get(name)
            or self.by_name_folded.get(name.casefold())
            or self.by_label_folded.get(name.casefold())
        )
        if not found:
            self.warnings.append(BuildWarning(WarningCode.UNKNOWN_PARENT, host.hostid, name))
            return None
        if len(found) > 1:
            self.warnings.append(BuildWarning(WarningCode.AMBIGUOUS_PARENT, host.hostid, name))
        if found[0] == host.hostid:
            self.warnings.append(BuildWarning(WarningCode.SELF_PARENT, host.hostid))
            return None
        return found[0]

    # -- inference ----------------------------------------------------------------

    def _main_site(self) -> str | None:
        def most_common(ids: Iterable[str]) -> str | None:
            counts = Counter(self.by_id[i].site for i in ids if self.by_id[i].site)
            if not counts:
                return None
            return min(counts, key=lambda s: (-counts[s], s.casefold(), s))

        ids = [h.hostid for h in self.hosts]
        for roles in ({Role.ACCESS}, GATEWAYS, None):
            site = most_common(i for i in ids if roles is None or self.role[i] in roles)
            if site is not None:
                return site
        return None

    def _inferred_parents(self) -> dict[str, str]:
        role, site, main = self.role, self.site, self.main_site
        ids = [h.hostid for h in self.hosts]  # sorted

        def first_by_site(roles: frozenset[str], *, exclude_main: bool = False) -> dict:
            found: dict[str | None, str] = {}
            members = [i for i in ids if role[i] in roles]
            members.sort(key=lambda i: ROLE_ORDER[role[i]])  # stable: keeps name order
            for i in members:
                if exclude_main and site[i] == main:
                    continue
                found.setdefault(site[i], i)
            return found

        def first_main(roles: frozenset[str]) -> str | None:
            members = [i for i in ids if role[i] in roles]
            members.sort(key=lambda i: (site[i] != main, ROLE_ORDER[role[i]]))
            return members[0] if members else None

        access = first_by_site(frozenset({Role.ACCESS}))
        gateway = first_by_site(GATEWAYS)
        switch = first_by_site(frozenset({Role.SWITCH}))
        link = first_by_site(frozenset({Role.LINK}), exclude_main=True)
        main_access = first_main(frozenset({Role.ACCESS}))
        main_gateway = first_main(GATEWAYS)

        inferred: dict[str, str] = {}
        for i in ids:
            r, s = role[i], site[i]
            if r == Role.ACCESS:
                chain: list[str | None] = []
            elif r in GATEWAYS:
                chain = [access.get(s), link.get(s), main_access]
            elif r == Role.LINK:
                chain = [main_gateway, main_access]
            elif r == Role.SWITCH:
                chain = [gateway.get(s), link.get(s), access.get(s), main_gateway, main_access]
            else:
                chain = [
                    switch.get(s),
                    gateway.get(s),
                    link.get(s),
                    access.get(s),
                    main_gateway,
                    main_access,
                ]
            inferred[i] = next((p for p in chain if p is not None and p != i), self.root_id)
        return inferred

    # -- resolution ---------------------------------------------------------------

    def resolve(self) -> tuple[dict[str, str], dict[str, ParentSource]]:
        """Return the primary parent and its source for every host, without cycles."""
        candidates: dict[str, list[tuple[str, ParentSource]]] = {}
        for h in self.hosts:
            i = h.hostid
            chain: list[tuple[str, ParentSource]] = []
            if i in self.dep_targets:
                chain.append((self.dep_targets[i][0], ParentSource.DEPENDENCY))
            elif self.tag_parent[i] is not None:
                chain.append((self.tag_parent[i], ParentSource.TAG))
            if self.inferred[i] != self.root_id:
                chain.append((self.inferred[i], ParentSource.INFERRED))
            chain.append((self.root_id, ParentSource.ROOT))
            candidates[i] = chain
        level = dict.fromkeys(candidates, 0)

        def parent_of(i: str) -> str:
            return candidates[i][level[i]][0]

        while True:
            cycles = self._cycles(parent_of)
            if not cycles:
                break
            for cycle in cycles:
                # Drop the weakest declared edge: tags before dependencies, and the
                # most upstream equipment first (its declared parent is the odd one).
                weakest = {ParentSource.TAG: 0, ParentSource.DEPENDENCY: 1}
                victim = min(
                    cycle,
                    key=lambda i: (
                        weakest.get(candidates[i][level[i]][1], 2),
                        ROLE_ORDER[self.role[i]],
                        self.rank[i],
                    ),
                )
                dropped, source = candidates[victim][level[victim]]
                if source in weakest:
                    self.warnings.append(BuildWarning(WarningCode.CYCLE, victim, dropped))
                level[victim] += 1

        parents = {i: parent_of(i) for i in candidates}
        sources = {i: candidates[i][level[i]][1] for i in candidates}
        self._prefer_deepest_dependency(parents, sources)
        return parents, sources

    def _cycles(self, parent_of) -> list[list[str]]:
        state: dict[str, int] = {}  # 1: on the current walk, 2: done
        cycles: list[list[str]] = []
        for start in (h.hostid for h in self.hosts):
            walk: list[str] = []
            node = start
            while node != self.root_id and node not in state:
                state[node] = 1
                walk.append(node)
                node = parent_of(node)
            if node != self.root_id and state[node] == 1:
                cycles.append(walk[walk.index(node) :])
            for n in walk:
                state[n] = 2
        return cycles

    def _prefer_deepest_dependency(
        self, parents: dict[str, str], sources: dict[str, ParentSource]
    ) -> None:
        """With several dependencies, hang the host under the most downstream one.

        A camera depending on both its switch and the router goes under the
        switch: targets that are ancestors of another target are skipped.
        """

        def ancestors(i: str) -> set[str]:
            seen: set[str] = set()
            while i in parents and i not in seen:
                i = parents[i]
                seen.add(i)
            return seen

        for h in self.hosts:
            i = h.hostid
            targets = self.dep_targets.get(i, [])
            if len(targets) < 2 or sources[i] is not ParentSource.DEPENDENCY:
                continue
            upstream = set().union(*(ancestors(t) for t in targets))
            best = next((t for t in targets if t not in upstream), targets[0])
            if best != parents[i] and i not in ancestors(best):
                parents[i] = best


def build_graph(
    hosts: Iterable[HostInfo],
    dependencies: Iterable[DependencyInfo] = (),
    *,
    root_id: str = "internet",
    root_label: str = "Internet",
) -> nx.DiGraph:
    """Return the downstream dependency graph of one member's hosts.

    Parameters
    ----------
    hosts : iterable of HostInfo
        The member's hosts. Node ids are their ``hostid``.
    dependencies : iterable of DependencyInfo
        Host-level trigger dependencies. Dependencies of hosts outside
        ``hosts`` are ignored.
    root_id, root_label : str
        Id and label of the synthetic Internet root node.

    Returns
    -------
    G : networkx.DiGraph
        Edges ``parent -> child``. Every host has one primary in-edge
        (``primary=True``, ``source`` a :class:`~topology.model.ParentSource`
        value); extra dependencies are ``primary=False`` edges. Nodes carry
        ``label``, ``role``, ``role_source`` (``"tag"`` or ``"inferred"``),
        ``site``, ``host`` (the :class:`~topology.model.HostInfo`, ``None`` for
        the root) and ``parent_source``. ``G.graph`` holds ``root`` and
        ``warnings`` (a tuple of :class:`~topology.model.BuildWarning`).
        The result does not depend on the order of the inputs.

    Raises
    ------
    DuplicateHostError
        Two hosts share a hostid, or a hostid equals ``root_id``.

    Examples
    --------
    >>> hosts = [
    ...     HostInfo("1", "box", "Box fibre", role="access"),
    ...     HostInfo("2", "rtr", "Routeur", role="router"),
    ...     HostInfo("3", "nas", "NAS", parent="rtr"),
    ... ]
    >>> G = build_graph(hosts)
    >>> sorted(G.edges)
    [('1', '2'), ('2', '3'), ('internet', '1')]
    >>> G.nodes["3"]["role"], G.edges["2", "3"]["source"]
    ('nas', 'tag')
    """
    host_list = list(hosts)
    seen: set[str] = set()
    for h in host_list:
        if h.hostid in seen or h.hostid == root_id:
            raise DuplicateHostError(f"duplicate host id {h.hostid!r}")
        seen.add(h.hostid)
    host_list.sort(key=_host_key)

    resolver = _Resolver(host_list, dependencies, root_id)
    parents, sources = resolver.resolve()

    G = nx.DiGraph(root=root_id)
    G.add_node(
        root_id,
        label=root_label,
        role=Role.INTERNET.value,
        role_source="tag",
        site=None,
        host=None,
        parent_source=ParentSource.ROOT.value,
    )
    for h in host_list:
        G.add_node(
            h.hostid,
            label=h.label,
            role=resolver.role[h.hostid],
            role_source="tag" if h.role else "inferred",
            site=h.site,
            host=h,
            parent_source=sources[h.hostid].value,
        )
    for h in host_list:
        i = h.hostid
        G.add_edge(parents[i], i, primary=True, source=sources[i].value)
    for h in host_list:
        i = h.hostid
        for target in resolver.dep_targets.get(i, ()):
            if G.has_edge(target, i):
                continue
            if nx.has_path(G, i, target):
                resolver.warnings.append(BuildWarning(WarningCode.CYCLE, i, target))
                continue
            G.add_edge(target, i, primary=False, source=ParentSource.DEPENDENCY.value)
    unique = dict.fromkeys(resolver.warnings)  # a dropped dependency may be reported twice
    G.graph["warnings"] = tuple(
        sorted(unique, key=lambda w: (resolver.rank[w.hostid], w.code, w.detail or ""))
    )
    return G
