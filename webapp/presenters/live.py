"""Texts of live pages: the same words on the server and in the browser.

A live page is rendered by the server, then kept up to date by a script that
writes the same sentences from :func:`texts` (no strings in JS). The freshness
line and banner follow one rule (``VIGIE_STALE_AFTER_POLLS`` × poll interval
since the last successful read of the source) and one clock
(:mod:`webapp.presenters.clock`).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from webapp.live import diff
from webapp.models.choices import ROLE_LABELS
from webapp.models.choices import SEVERITY_LABELS
from webapp.models.choices import STATE_DISPLAY
from webapp.presenters import clock
from webapp.presenters import problems as problems_view
from webapp.services import overview

__all__ = ["FreshnessView", "freshness_view", "page_context", "texts"]


def _placeholder(key: str) -> str:
    return "{" + key + "}"


def freshness_texts() -> dict[str, str]:
    time = _placeholder("time")
    return {
        "fresh": _("Données à jour"),
        "last_data": _("Dernières données : %(time)s", time=time),
        "stale": _("Données non actualisées depuis %(time)s", time=time),
        "stale_detail": _(
            "La source de supervision ne répond pas ; l’affichage montre le dernier état connu."
        ),
        "no_data": _("Aucune donnée de supervision reçue pour le moment"),
        "frozen": _("Affichage suspendu ; données de %(time)s", time=time),
    }


def connection_texts() -> dict[str, str]:
    return {
        "live": _("Connecté à Vigie"),
        "connecting": _("Connexion à Vigie…"),
        "reconnecting": _("Connexion à Vigie perdue, nouvelle tentative…"),
        "paused": _("Mises à jour suspendues"),
        "pause": _("Suspendre les mises à jour"),
        "resume": _("Reprendre les mises à jour"),
    }


def state_texts() -> dict[str, dict[str, str]]:
    return {
        state.value: {"label": str(label), "glyph": glyph, "modifier": modifier}
        for state, (label, modifier, glyph) in STATE_DISPLAY.items()
    }


def texts() -> dict:
    """Everything a live script writes, in the reader's language."""
    return {
        **freshness_texts(),
        **connection_texts(),
        "clock": clock.client_rules(),
        "states": state_texts(),
        "severities": {str(k): str(v) for k, v in SEVERITY_LABELS.items()},
        **problems_view.live_texts(),
        "roles": {str(k): str(v) for k, v in ROLE_LABELS.items()},
        "cause": _("cause probable : %(cause)s", cause=_placeholder("cause")),
        "changed": _("%(label)s : %(state)s", label=_placeholder("label"), state="{state}"),
        "no_news": _("plus de nouvelles"),
        "care": _(" ; le support du syndicat s’en occupe"),
        "unfolded": _("%(label)s : groupe déplié", label=_placeholder("label")),
        "folded": _("%(label)s : groupe replié", label=_placeholder("label")),
    }


@dataclass(frozen=True)
class FreshnessView:
    """The freshness line and banner as the server renders them (the script's words)."""

    stale: bool
    line: str  # on a live page, which its script keeps true
    banner: str
    as_of: str  # on a page that does not change: true forever


def freshness_view(freshness) -> FreshnessView:
    """``freshness``: :class:`webapp.services.overview.Freshness`."""
    words = freshness_texts()
    if freshness.last_success is None:
        return FreshnessView(True, words["no_data"], words["no_data"], words["no_data"])
    at = clock.time_of_day(freshness.last_success)
    banner = words["stale"].replace("{time}", at)
    last = words["last_data"].replace("{time}", at)
    if freshness.stale:
        return FreshnessView(True, last, banner, last)
    as_of = _("Données actualisées à %(time)s", time=at)
    return FreshnessView(False, words["fresh"], banner, as_of)


def page_context(context: dict) -> dict:
    """What a live page adds to its template context: its script's texts, version, source."""
    status = context.get("status")
    return {
        "live_i18n": texts(),
        "version": diff.version_of(diff.node_views(status)) if status else None,
        "source_state": overview.source_state(),
    }
