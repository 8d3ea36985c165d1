"""The support wall as its pages and wall.js show it: tiles with their texts, the script's words.

The server and wall.js write the same sentences: :func:`tile` for the server,
:func:`texts` (plural forms with ``{n}``) for the script.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from webapp.access import STAFF
from webapp.presenters import clock
from webapp.presenters import live as live_texts

__all__ = ["INCIDENTS", "REQUESTS", "texts", "tile", "tiles"]


def tile(data: dict, viewer: str) -> dict:
    """A tile with its texts and link (the same texts wall.js builds from ``data-i18n``)."""
    since = datetime.fromisoformat(data["since"]) if data["since"] else None
    unacked = len(data["unacked_high"])
    if viewer == STAFF:
        href = url_for("maps.map", slug=data["slug"])
    else:
        href = url_for("wall.member", slug=data["slug"])
    return {
        **data,
        "href": href,
        "incidents_text": _count(INCIDENTS, data["incidents"]),
        "since_text": clock.since(since) if since else "",
        "requests_text": _count(REQUESTS, data["open_requests"]),
        "overdue": _overdue(data.get("due") or []),
        "overdue_text": _count(OVERDUE, _overdue(data.get("due") or [])),
        "care_text": _(
            "Le support s’en occupe %(since)s",
            since=clock.since(datetime.fromisoformat(data["care_since"])),
        )
        if data.get("care_since")
        else "",
        "unacked_text": ngettext(
            "%(n)s problème grave non acquitté",
            "%(n)s problèmes graves non acquittés",
            unacked,
            n=unacked,
        ),
    }


def plural_forms(singular: str, plural: str) -> tuple[str, str]:
    """Mark a pair of plural forms for extraction (scripts/i18n.sh); ngettext reads them later."""
    return singular, plural


# (none, one, several): "none" has its own words, so that the server (gettext's plural rule)
# and wall.js (n === 1) always pick the same form.
INCIDENTS = (_l("Aucun incident"), *plural_forms("%(n)s incident", "%(n)s incidents"))
REQUESTS = (
    _l("Aucune demande ouverte"),
    *plural_forms("%(n)s demande ouverte", "%(n)s demandes ouvertes"),
)
OVERDUE = (_l("Aucune en retard"), *plural_forms("%(n)s en retard", "%(n)s en retard"))


def _overdue(due: list[str]) -> int:
    """How many of a tile's requests are past their due time now (the wall's own count)."""
    now = datetime.now(UTC)
    return sum(1 for at in due if datetime.fromisoformat(at) < now)


def _count(forms: tuple, n: int) -> str:
    none, singular, plural = forms
    return str(none) if n == 0 else ngettext(singular, plural, n, n=n)


def _plural(singular: str, plural: str, none=None) -> dict[str, str]:
    forms = {
        "one": ngettext(singular, plural, 1, n="{n}"),
        "other": ngettext(singular, plural, 2, n="{n}"),
    }
    if none is not None:
        forms["zero"] = str(none)
    return forms


def texts() -> dict:
    """Texts wall.js needs, in the reader's language (no strings in JS)."""
    return {
        **live_texts.texts(),
        "incidents": _plural(INCIDENTS[1], INCIDENTS[2], INCIDENTS[0]),
        "requests": _plural(REQUESTS[1], REQUESTS[2], REQUESTS[0]),
        "overdue": _plural(OVERDUE[1], OVERDUE[2], OVERDUE[0]),
        "care": _("Le support s’en occupe %(since)s", since="{since}"),
        "unacked": _plural(
            "%(n)s problème grave non acquitté", "%(n)s problèmes graves non acquittés"
        ),
        "changed": _("%(name)s : %(state)s", name="{name}", state="{state}"),
        "pinned": _("Nouveau problème non acquitté : %(name)s", name="{name}"),
        "fullscreen": _("Plein écran"),
        "exit_fullscreen": _("Quitter le plein écran"),
    }


def tiles(state_tiles: list[dict], viewer: str) -> list[dict]:
    """Every tile of the wall, presented for ``viewer``."""
    return [tile(data, viewer) for data in state_tiles]
