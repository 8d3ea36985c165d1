"""Member lists and a member's home: rows (state, headline, usage) and page contexts."""

from __future__ import annotations

from dataclasses import dataclass

from webapp.live import diff
from webapp.live.status import MemberStatus
from webapp.models import Member
from webapp.presenters import history as history_view
from webapp.presenters import support as support_view
from webapp.presenters import wording
from webapp.services import billing
from webapp.services import overview


@dataclass(frozen=True)
class MemberRow:
    member: Member
    status: MemberStatus | None
    state: str
    headline: str
    usage: billing.Usage
    version: str | None = None  # of the live state: a live page knows when it is behind


def member_rows(members: list[Member]) -> list[MemberRow]:
    rows = []
    for member in members:
        status = overview.status_of(member)
        used = status.probes_used if status else None
        rows.append(
            MemberRow(
                member=member,
                status=status,
                state=status.overall if status else "unknown",
                headline=wording.headline(status.summary) if status else "",
                usage=billing.usage(member, used),
                version=diff.version_of(diff.node_views(status)) if status else None,
            )
        )
    return rows


def member_page(member: Member) -> dict:
    """Template context of a member's home and its refreshable fragment."""
    status = overview.status_of(member)
    context = {
        "freshness": overview.freshness(),
        "status": status,
        "usage": billing.usage(member, status.probes_used if status else None),
    }
    if status is not None:
        nodes = [n for n in status.member_map.nodes if n.id != status.member_map.root]
        care = support_view.care_sentences(member, status.summary)  # "support is on it"
        context.update(
            headline=wording.headline(status.summary),
            sentences=wording.sentences(status.summary, care),
            care_nodes=" ".join(sorted(care)),
            state_summary=wording.state_counts(status.summary),
            nodes=nodes,
            labels={n.id: n.label for n in status.member_map.nodes},
            week=history_view.member_week(member),
        )
    return context
