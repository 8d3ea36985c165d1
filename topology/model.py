"""Plain data the topology functions take and return.

The web services turn database rows and monitoring-source objects into the
input dataclasses (:class:`HostInfo`, :class:`ProblemInfo`,
:class:`DependencyInfo`) before calling :mod:`topology`; the results
(:class:`MemberMap`, :class:`Summary`, :class:`Layout`) are plain frozen values
that templates and JSON encoders can read without knowing networkx.

Nothing here holds user-facing sentences: enums carry stable codes and the web
side translates them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from types import MappingProxyType

from topology.exceptions import InvalidDataError

__all__ = [
    "AVAILABILITIES",
    "ROLE_ORDER",
    "BuildWarning",
    "DependencyInfo",
    "HostInfo",
    "Incident",
    "IncidentKind",
    "IncidentSummary",
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
    "SpanningTree",
    "Summary",
    "WarningCode",
]


class Severity(enum.IntEnum):
    """Zabbix trigger severities (same values as the Zabbix API)."""

    NOT_CLASSIFIED = 0
    INFORMATION = 1
    WARNING = 2
    AVERAGE = 3
    HIGH = 4
    DISASTER = 5


class Role(enum.StrEnum):
    """Canonical equipment roles (values of the ``role`` host tag).

    ``internet`` is reserved for the synthetic root node.
    """

    INTERNET = "internet"
    ACCESS = "access"
    ROUTER = "router"
    FIREWALL = "firewall"
    LINK = "link"
    SWITCH = "switch"
    SERVER = "server"
    NAS = "nas"
    CAMERA = "camera"
    AP = "ap"
    PRINTER = "printer"
    PHONE = "phone"
    OTHER = "other"


#: Display / sort rank of each role, upstream first.
ROLE_ORDER: Mapping[str, int] = MappingProxyType(
    {role.value: rank for rank, role in enumerate(Role)}
)

#: Accepted values of :attr:`HostInfo.available`.
AVAILABILITIES = frozenset({"available", "unavailable", "unknown"})


class NodeState(enum.StrEnum):
    """State of one node of the map, after impact analysis."""

    OK = "ok"
    WARNING = "warning"  # a problem below the down threshold: the node still works
    PROBLEM = "problem"  # down: a problem at or above the down threshold
    UNREACHABLE = "unreachable"
    MAINTENANCE = "maintenance"
    UNKNOWN = "unknown"


class MemberState(enum.StrEnum):
    """Overall state of a member, worst first: problem > warning > unknown > ok."""

    OK = "ok"
    UNKNOWN = "unknown"
    WARNING = "warning"
    PROBLEM = "problem"


class IncidentKind(enum.StrEnum):
    """``down``: a node is down (severity >= the down threshold), possibly hiding others.

    ``problem``: a node has a lesser problem (disk, CPU...) and hides nothing.
    """

    DOWN = "down"
    PROBLEM = "problem"


class ParentSource(enum.StrEnum):
    """Where the primary parent of a node came from (node attribute ``parent_source``)."""

    ROOT = "root"
    DEPENDENCY = "dependency"
    TAG = "tag"
    INFERRED = "inferred"


class WarningCode(enum.StrEnum):
    """Codes of the non-fatal anomalies found while building the graph."""

    CYCLE = "cycle"
    """A declared parent closed a cycle; it was dropped (``detail``: dropped parent hostid)."""
    UNKNOWN_PARENT = "unknown_parent"
    """The ``parent`` tag names no host of the member (``detail``: the tag value)."""
    AMBIGUOUS_PARENT = "ambiguous_parent"
    """The ``parent`` tag matches several hosts; the first was used (``detail``: tag value)."""
    SELF_PARENT = "self_parent"
    """A host names itself as parent (tag or dependency); ignored."""
    UNKNOWN_DEPENDENCY = "unknown_dependency"
    """A dependency points to a hostid that is not in the member (``detail``: that hostid)."""


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


@dataclass(frozen=True, slots=True)
class HostInfo:
    """One monitored host of a member, as the topology needs it.

    Parameters
    ----------
    hostid : str
        Zabbix host id; it becomes the node id.
    host : str
        Technical name (what the ``parent`` tag refers to).
    name : str
        Visible name (the node label).
    role, parent, site : str or None
        Values of the ``role``, ``parent`` and ``site`` host tags. Blank
        strings are stored as ``None``.
    inventory_type : str or None
        Inventory "type" field, used to infer the role when there is no tag.
    available : {"available", "unavailable", "unknown"}
        Whether the host's own agent/SNMP data arrives.
    in_maintenance : bool
        The host is in a maintenance period now.
    last_data_age_s : float or None
        Seconds since the host's last received value (``None``: unknown).
    """

    hostid: str
    host: str
    name: str
    role: str | None = None
    parent: str | None = None
    site: str | None = None
    inventory_type: str | None = None
    available: str = "unknown"
    in_maintenance: bool = False
    last_data_age_s: float | None = None

    def __post_init__(self) -> None:
        if not self.hostid:
            raise InvalidDataError("HostInfo.hostid must not be empty")
        if str(self.available) not in AVAILABILITIES:
            raise InvalidDataError(f"HostInfo.available must be one of {sorted(AVAILABILITIES)}")
        for name in ("role", "parent", "site", "inventory_type"):
            object.__setattr__(self, name, _clean(getattr(self, name)))
        object.__setattr__(self, "available", str(self.available))

    @property
    def label(self) -> str:
        """Visible name, or the technical name when the visible one is blank."""
        return self.name or self.host or self.hostid


@dataclass(frozen=True, slots=True)
class ProblemInfo:
    """A problem firing now on a host (``severity`` is coerced to :class:`Severity`).

    ``acknowledged_at`` is when it was first acknowledged (``None``: not
    acknowledged, or unknown).
    """

    eventid: str
    hostid: str
    name: str
    severity: Severity
    since: datetime
    acknowledged: bool = False
    suppressed: bool = False
    acknowledged_at: datetime | None = None

    def __post_init__(self) -> None:
        try:
            severity = Severity(int(self.severity))
        except (TypeError, ValueError):
            raise InvalidDataError(f"invalid severity {self.severity!r} (expected 0..5)") from None
        object.__setattr__(self, "severity", severity)


@dataclass(frozen=True, slots=True)
class DependencyInfo:
    """Host ``hostid`` depends on host ``depends_on`` (from trigger dependencies)."""

    hostid: str
    depends_on: str


@dataclass(frozen=True, slots=True)
class BuildWarning:
    """A non-fatal anomaly found by :func:`topology.build_graph`."""

    code: WarningCode
    hostid: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class SpanningTree:
    """The deterministic spanning tree used to place and order nodes.

    ``parents`` maps each node to its tree parent (``None`` for the root and
    for the tops of parts not reachable from it, which hang under the root
    without an edge). ``children`` are in display order, ``order`` is the
    pre-order walk, ``tree_edges`` the graph edges kept in the tree and
    ``extra_edges`` every other graph edge.
    """

    root: str
    parents: Mapping[str, str | None]
    children: Mapping[str, tuple[str, ...]]
    order: tuple[str, ...]
    depths: Mapping[str, int]
    tree_edges: tuple[tuple[str, str], ...]
    extra_edges: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """One node of the analysed map.

    ``severity`` is the highest severity among the node's own counted
    ``problems`` (``None`` if it has none). ``cause`` is the node id of the
    root cause when ``state`` is ``unreachable``. ``stale_age_s`` is the age
    of the last data when it is older than the staleness threshold.
    ``down`` is true for a node whose problems reach the down threshold.
    """

    id: str
    label: str
    role: str
    site: str | None
    state: NodeState
    severity: Severity | None = None
    problems: tuple[ProblemInfo, ...] = ()
    cause: str | None = None
    stale_age_s: float | None = None
    parent: str | None = None
    depth: int = 0
    down: bool = False


@dataclass(frozen=True, slots=True)
class Incident:
    """One root cause and what it hides.

    ``problems`` are the root's own problems (worst first); ``folded`` are the
    problems of the ``affected`` nodes, which are not reported separately.
    ``since`` is the start of the earliest root problem at ``severity``.
    ``acknowledged`` is true when every root problem is acknowledged;
    ``acknowledged_at`` is the earliest acknowledgement time among the root
    problems (``None`` when none is acknowledged, or their times are unknown).
    """

    root: str
    label: str
    role: str
    site: str | None
    kind: IncidentKind
    severity: Severity
    since: datetime
    affected: tuple[str, ...] = ()
    problems: tuple[ProblemInfo, ...] = ()
    folded: tuple[ProblemInfo, ...] = ()
    acknowledged: bool = False
    acknowledged_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Position:
    """Centre of a node box, in pixels, origin at the top-left of the drawing."""

    x: float
    y: float


@dataclass(frozen=True, slots=True)
class Layout:
    """Node positions for drawing a member map.

    ``positions`` map node ids to box centres. ``order`` lists node ids in
    tree pre-order (reading order), ``depths`` gives each node's depth in the
    spanning tree, ``tree_edges`` are the spanning-tree edges used for the
    positions and ``extra_edges`` the remaining (non-tree) edges.
    ``orientation`` is ``"vertical"``, ``"horizontal"`` or ``"narrow"``.
    """

    width: float
    height: float
    positions: Mapping[str, Position]
    node_width: float
    node_height: float
    orientation: str
    order: tuple[str, ...] = ()
    depths: Mapping[str, int] = field(default_factory=dict)
    tree_edges: tuple[tuple[str, str], ...] = ()
    extra_edges: tuple[tuple[str, str], ...] = ()
    stacked: frozenset[str] = frozenset()
    """Nodes drawn in a vertical column under their parent (see ``stack_leaves``)."""

    def __post_init__(self) -> None:
        if not isinstance(self.positions, MappingProxyType):
            object.__setattr__(self, "positions", MappingProxyType(dict(self.positions)))
        if not isinstance(self.depths, MappingProxyType):
            object.__setattr__(self, "depths", MappingProxyType(dict(self.depths)))


@dataclass(frozen=True, slots=True)
class MemberMap:
    """Everything needed to draw and describe one member's map.

    ``nodes`` are in tree pre-order, the synthetic root first. ``edges`` are
    the spanning-tree edges ``(parent, child)``, ``extra_edges`` the other
    declared dependencies. ``incidents`` are sorted by severity (worst first)
    then start time. ``counts`` gives the number of hosts (root excluded) in
    each :class:`NodeState`. ``at`` is the reference time of the analysis.
    """

    root: str
    nodes: tuple[NodeStatus, ...]
    edges: tuple[tuple[str, str], ...]
    incidents: tuple[Incident, ...]
    overall: MemberState
    counts: Mapping[NodeState, int]
    extra_edges: tuple[tuple[str, str], ...] = ()
    warnings: tuple[BuildWarning, ...] = ()
    layout: Layout | None = None
    at: datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.counts, MappingProxyType):
            object.__setattr__(self, "counts", MappingProxyType(dict(self.counts)))

    def node(self, node_id: str) -> NodeStatus:
        """Return the node ``node_id`` (``KeyError`` if absent)."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)


@dataclass(frozen=True, slots=True)
class IncidentSummary:
    """Structured description of one incident (the web side writes the sentence)."""

    root: str
    label: str
    role: str
    site: str | None
    kind: IncidentKind
    severity: Severity
    since: datetime
    duration_s: float
    affected_count: int
    problem_count: int
    acknowledged: bool
    acknowledged_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Summary:
    """Structured summary of a :class:`MemberMap` (no sentences)."""

    overall: MemberState
    hosts: int
    counts: Mapping[NodeState, int]
    incidents: tuple[IncidentSummary, ...]
    worst_severity: Severity | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.counts, MappingProxyType):
            object.__setattr__(self, "counts", MappingProxyType(dict(self.counts)))
