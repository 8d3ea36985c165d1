"""The wall's member panel, readable at 3 m: the problem paths and the affected sites.

A member map drawn small enough to fit the panel shows its 13 px labels at 9 px; so
the panel shows, in large type, what a person across the room needs:

- for each incident, the path from Internet to the failing device, every step with
  its state, the failed end marked, and how many devices are unreachable behind it;
- each site with problems, its worst state and its counts (« Déchetterie : 1 en
  panne, 4 injoignables »), then one line for the sites where all works;
- when all works, one large message with the count of devices and sites.

Pure functions of a :class:`~topology.model.MemberMap` and its
:class:`~topology.model.Summary` (no request, no database).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext

from topology.model import IncidentKind
from topology.model import MemberMap
from topology.model import NodeStatus
from topology.model import Summary
from webapp.live.diff import display_state
from webapp.presenters import wording

__all__ = [
    "MAX_PATHS",
    "MAX_SITES",
    "AffectedSite",
    "PathStep",
    "ProblemPath",
    "WallPanel",
    "affected_sites",
    "panel",
    "problem_paths",
    "worst_state",
]

MAX_PATHS = 3  # more incidents than that: the sentences list them, a line says how many more
MAX_SITES = 6
MAX_STEPS = 7  # a longer path keeps Internet and its last three steps; the working middle folds
KEPT_TAIL = 3
_WORST = ("problem", "unreachable", "warning", "unknown", "maintenance", "ok")


@dataclass(frozen=True)
class PathStep:
    """One device on the way from Internet to a failing device."""

    id: str
    label: str
    state: str  # display state
    end: bool = False  # the failing device, at the end of the path
    skipped: int = 0  # a fold of that many working devices (``id`` and ``label`` empty)


@dataclass(frozen=True)
class ProblemPath:
    """One incident as a path: Internet first, the failing device last."""

    root: str  # the failing device (the incident's root)
    label: str
    site: str | None
    state: str  # the failing device's display state
    steps: tuple[PathStep, ...]
    behind: int  # devices unreachable behind it
    behind_text: str  # « 4 équipements injoignables derrière », or ""


@dataclass(frozen=True)
class AffectedSite:
    """A site where something does not work: its worst state and counts."""

    site: str | None
    title: str
    state: str
    counts: str  # « 1 en panne, 4 injoignables »
    devices: int


@dataclass(frozen=True)
class WallPanel:
    """What the member panel shows under its title, state and sentences."""

    devices: int
    sites: int
    all_ok: bool
    ok_text: str  # « 27 équipements sur 3 sites fonctionnent. » (when all_ok)
    paths: tuple[ProblemPath, ...]
    more_paths_text: str  # « + 2 autres incidents », or ""
    affected: tuple[AffectedSite, ...]
    others_text: str  # « 2 autres sites : tout fonctionne », or ""


def worst_state(states) -> str:
    """The worst of display states (``ok`` for none).

    >>> worst_state(["ok", "unreachable", "warning"])
    'unreachable'
    """
    present = set(states)
    return next((s for s in _WORST if s in present), "ok")


def _devices(member_map: MemberMap) -> list[NodeStatus]:
    return [n for n in member_map.nodes if n.id != member_map.root]


def _chain(member_map: MemberMap, node_id: str) -> list[str]:
    """Node ids from the map's root (Internet) down to ``node_id``, along the tree edges."""
    parent = {child: up for up, child in member_map.edges}
    chain = [node_id]
    while chain[-1] in parent and len(chain) <= len(member_map.nodes):  # a tree: no cycle
        chain.append(parent[chain[-1]])
    return chain[::-1]


def _behind_text(count: int) -> str:
    if not count:
        return ""
    return ngettext(
        "%(num)d équipement injoignable derrière",
        "%(num)d équipements injoignables derrière",
        count,
    )


def _shorten(steps: tuple[PathStep, ...]) -> tuple[PathStep, ...]:
    """At most :data:`MAX_STEPS` boxes: Internet, one « N équipements qui fonctionnent »
    for the working devices of the middle, then the last :data:`KEPT_TAIL` steps.

    A middle step that does not work is never folded away.
    """
    if len(steps) <= MAX_STEPS:
        return steps
    head, middle, tail = steps[:1], steps[1:-KEPT_TAIL], steps[-KEPT_TAIL:]
    if any(step.state != "ok" for step in middle):
        return steps
    fold = PathStep(
        id="",
        label=ngettext(
            "%(num)d équipement qui fonctionne",
            "%(num)d équipements qui fonctionnent",
            len(middle),
        ),
        state="ok",
        skipped=len(middle),
    )
    return (*head, fold, *tail)


def problem_paths(member_map: MemberMap, summary: Summary) -> list[ProblemPath]:
    """One path per incident, in the summary's order (worst first, then the oldest).

    Each path goes from the map's root (Internet) to the incident's root along the
    tree edges (its working middle folded when long, see :func:`_shorten`);
    ``behind`` counts the devices unreachable because of it (the ones whose cause
    it is).
    """
    by_id = {n.id: n for n in member_map.nodes}
    hidden = Counter(n.cause for n in member_map.nodes if display_state(n) == "unreachable")
    paths = []
    for incident in summary.incidents:
        if incident.root not in by_id:
            continue
        ids = [i for i in _chain(member_map, incident.root) if i in by_id]
        steps = _shorten(
            tuple(
                PathStep(
                    id=i,
                    label=by_id[i].label,
                    state=display_state(by_id[i]),
                    end=i == incident.root,
                )
                for i in ids
            )
        )
        behind = hidden.get(incident.root, 0) if incident.kind == IncidentKind.DOWN else 0
        paths.append(
            ProblemPath(
                root=incident.root,
                label=incident.label,
                site=incident.site,
                state=display_state(by_id[incident.root]),
                steps=steps,
                behind=behind,
                behind_text=_behind_text(behind),
            )
        )
    return paths


def site_title(site: str | None) -> str:
    return site if site is not None else _("Équipements sans site")


def affected_sites(member_map: MemberMap) -> tuple[list[AffectedSite], list[str | None]]:
    """The sites where something does not work (worst first), and the sites where all works.

    A device's site is its own ``site``; devices without one count as one more
    « site » (« Équipements sans site »). Sites keep the map's order among equals.
    """
    states: dict[str | None, list[str]] = {}
    for node in _devices(member_map):
        states.setdefault(node.site, []).append(display_state(node))
    affected, fine = [], []
    for site, site_states in states.items():
        worst = worst_state(site_states)
        if worst == "ok":
            fine.append(site)
            continue
        affected.append(
            AffectedSite(
                site=site,
                title=site_title(site),
                state=worst,
                counts=wording.count_words(site_states),
                devices=len(site_states),
            )
        )
    affected.sort(key=lambda s: _WORST.index(s.state))  # stable: the map's order among equals
    return affected, fine


def _others_text(fine: list[str | None], any_affected: bool) -> str:
    if not fine:
        return ""
    if not any_affected:
        return ""
    if len(fine) == 1:
        return _("%(site)s : tout fonctionne", site=site_title(fine[0]))
    return ngettext(
        "%(num)d autre site : tout fonctionne",
        "%(num)d autres sites : tout fonctionne",
        len(fine),
    )


def _ok_text(devices: int, sites: int) -> str:
    things = ngettext("%(num)d équipement", "%(num)d équipements", devices)
    if sites <= 1:
        return _("%(things)s : tout fonctionne.", things=things)
    return _(
        "%(things)s sur %(sites)s : tout fonctionne.",
        things=things,
        sites=ngettext("%(num)d site", "%(num)d sites", sites),
    )


def panel(member_map: MemberMap, summary: Summary) -> WallPanel:
    """The problem paths (at most :data:`MAX_PATHS`) and the affected sites of one member."""
    devices = _devices(member_map)
    site_count = len({n.site for n in devices if n.site is not None})
    paths = problem_paths(member_map, summary)
    affected, fine = affected_sites(member_map)
    more = len(paths) - MAX_PATHS
    hidden_sites = affected[MAX_SITES:]
    fine_text = _others_text(fine, bool(affected))
    if hidden_sites:
        fine_text = " · ".join(
            t
            for t in (
                ngettext(
                    "%(num)d autre site touché", "%(num)d autres sites touchés", len(hidden_sites)
                ),
                fine_text,
            )
            if t
        )
    return WallPanel(
        devices=len(devices),
        sites=site_count,
        all_ok=bool(devices) and not affected,
        ok_text=_ok_text(len(devices), site_count),
        paths=tuple(paths[:MAX_PATHS]),
        more_paths_text=ngettext("+ %(num)d autre incident", "+ %(num)d autres incidents", more)
        if more > 0
        else "",
        affected=tuple(affected[:MAX_SITES]),
        others_text=fine_text,
    )
