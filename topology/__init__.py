"""Vigie topology: from one member's monitoring data to a map.

Pure Python on top of networkx; it never imports Flask, SQLAlchemy or
``webapp``. The web services fill :mod:`topology.model` dataclasses, then:

>>> from datetime import datetime, timezone
>>> import topology
>>> hosts = [
...     topology.HostInfo("1", "box", "Box fibre", role="access"),
...     topology.HostInfo("2", "rtr", "Routeur", role="router"),
...     topology.HostInfo("3", "pc", "Poste accueil"),
... ]
>>> G = topology.build_graph(hosts)
>>> layout = topology.layout_cached(G)
>>> now = datetime(2025, 1, 6, 8, 0, tzinfo=timezone.utc)
>>> down = topology.ProblemInfo("e1", "2", "Routeur injoignable", 4, now)
>>> result = topology.analyse(G, [down], now=now, stale_after_s=900, layout=layout)
>>> [(i.label, len(i.affected)) for i in result.incidents]
[('Routeur', 1)]
"""

from topology.build import build_graph
from topology.exceptions import DuplicateHostError
from topology.exceptions import InvalidDataError
from topology.exceptions import TopologyError
from topology.exceptions import UnknownRootError
from topology.impact import analyse
from topology.impact import member_map
from topology.impact import summarise
from topology.layout import LAYOUT_CACHE_SIZE
from topology.layout import layered_layout
from topology.layout import layout_cache_clear
from topology.layout import layout_cache_info
from topology.layout import layout_cached
from topology.layout import narrow_layout
from topology.layout import topology_signature
from topology.model import AVAILABILITIES
from topology.model import ROLE_ORDER
from topology.model import BuildWarning
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
from topology.model import ParentSource
from topology.model import Position
from topology.model import ProblemInfo
from topology.model import Role
from topology.model import Severity
from topology.model import SpanningTree
from topology.model import Summary
from topology.model import WarningCode
from topology.roles import infer_role
from topology.roles import normalise_role
from topology.sites import SiteLayout
from topology.sites import site_layout
from topology.sites import site_layout_cached
from topology.tree import sibling_key
from topology.tree import spanning_tree

__all__ = [
    "AVAILABILITIES",
    "LAYOUT_CACHE_SIZE",
    "ROLE_ORDER",
    "BuildWarning",
    "DependencyInfo",
    "DuplicateHostError",
    "HostInfo",
    "Incident",
    "IncidentKind",
    "IncidentSummary",
    "InvalidDataError",
    "Layout",
    "MemberMap",
    "MemberState",
    "NodeState",
    "NodeStatus",
    "ParentSource",
    "Position",
    "ProblemInfo",
    "Role",
    "Severity",
    "SiteLayout",
    "SpanningTree",
    "Summary",
    "TopologyError",
    "UnknownRootError",
    "WarningCode",
    "analyse",
    "build_graph",
    "infer_role",
    "layered_layout",
    "layout_cache_clear",
    "layout_cache_info",
    "layout_cached",
    "member_map",
    "narrow_layout",
    "normalise_role",
    "sibling_key",
    "spanning_tree",
    "summarise",
    "site_layout",
    "site_layout_cached",
    "topology_signature",
]
