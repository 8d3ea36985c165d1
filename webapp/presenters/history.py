"""What happened, in plain French: a device's last 30 days, a member's last 7 days."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import ngettext

from topology.model import MemberMap
from webapp.models import Member
from webapp.presenters import clock
from webapp.presenters.support import duration
from webapp.services import history
from webapp.services.history import Episode


def _path_above(member_map: MemberMap, hostid: str) -> list[str]:
    """The devices between ``hostid`` and the member's root in today's topology."""
    parents = {n.id: n.parent for n in member_map.nodes}
    above, seen = [], {hostid}
    current = parents.get(hostid)
    while current is not None and current != member_map.root and current not in seen:
        above.append(current)
        seen.add(current)
        current = parents.get(current)
    return above


def _what(episode: Episode, *, for_device: bool) -> str:
    if for_device and episode.through:
        return _("Injoignable : panne de « %(cause)s » en amont", cause=episode.cause)
    if episode.down:
        what = _("Panne : « %(cause)s » ne répondait plus", cause=episode.cause)
    else:
        what = _("Fonctionnement dégradé : « %(cause)s »", cause=episode.cause)
    if not for_device and episode.dependents:
        what += " " + ngettext(
            "(%(num)d équipement injoignable derrière)",
            "(%(num)d équipements injoignables derrière)",
            episode.dependents,
        )
    return what


def _row(episode: Episode, *, for_device: bool) -> dict:
    return {
        "what": _what(episode, for_device=for_device),
        "brief": episode.brief,
        "started": clock.moment(episode.started_at),
        "started_iso": episode.started_at.isoformat(),
        "ended": clock.moment(episode.ended_at),
        "ended_iso": episode.ended_at.isoformat(),
        "duration": duration(episode.duration_s),
        "detail": episode.problem,  # the source's wording: support's, folded
        "cause_hostid": episode.cause_hostid,
    }


def device_history(member: Member, member_map: MemberMap, hostid: str) -> list[dict]:
    """The last 30 days of one device: its failures and those above it that cut it off."""
    episodes = history.for_device(member, hostid, _path_above(member_map, hostid))
    return [_row(e, for_device=True) for e in episodes]


def member_week(member: Member) -> list[dict]:
    """The failures of the member's last 7 days (ended ones: what goes on is the summary's)."""
    return [_row(e, for_device=False) for e in history.for_member(member)]
