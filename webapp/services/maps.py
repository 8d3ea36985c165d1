"""The member map's service work: a node of the current status and its last values."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from topology.model import NodeStatus
from webapp.live.monitor import get_monitor
from webapp.models import Member
from webapp.services import overview
from webapp.services.errors import NotFound
from webapp.sources.base import Metric
from webapp.sources.base import SourceError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NodeDetail:
    """One node of a member's current status, with its key last values."""

    node: NodeStatus
    cause_label: str | None
    metrics: list[Metric]
    metrics_unavailable: bool  # the source did not give the last values


def node_detail(member: Member, hostid: str) -> NodeDetail:
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
    unavailable = False
    try:
        metrics = get_monitor().source.last_values([hostid])
    except SourceError as exc:
        logger.warning("Last values of %s unavailable: %s", hostid, exc)
        unavailable = True
    return NodeDetail(
        node=node,
        cause_label=labels.get(node.cause) if node.cause else None,
        metrics=metrics,
        metrics_unavailable=unavailable,
    )
