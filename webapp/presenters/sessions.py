"""The profile's « Appareils connectés »: the user's signed-in sessions and their limits."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext

from webapp.models import UserSession
from webapp.presenters import clock
from webapp.services.sessions import Policy


@dataclass(frozen=True)
class DeviceRow:
    id: int
    device: str
    network: str
    started: str
    last_seen: str
    current: bool


def device_rows(rows: list[UserSession], current_id: int | None) -> list[DeviceRow]:
    """This device first, then the others, the most recently active first."""
    views = [
        DeviceRow(
            id=row.id,
            device=row.device or _("Navigateur inconnu"),
            network=row.ip_prefix or _("réseau inconnu"),
            started=clock.moment(row.created_at),
            last_seen=clock.moment(row.last_seen_at),
            current=row.id == current_id,
        )
        for row in rows
    ]
    return sorted(views, key=lambda view: not view.current)


def limits_text(policy: Policy) -> str:
    """What the user's sessions last, in a sentence."""
    if policy.privileged:
        minutes = int(policy.idle.total_seconds() // 60)
        hours = int(policy.max_age.total_seconds() // 3600)
        return _(
            "Votre compte a des droits d’administration : par sécurité, une session se ferme "
            "après %(idle)s sans activité et au plus tard %(max)s après la connexion, "
            "et à la fermeture du navigateur.",
            idle=ngettext("%(num)d minute", "%(num)d minutes", minutes),
            max=ngettext("%(num)d heure", "%(num)d heures", hours),
        )
    days = int(policy.max_age.total_seconds() // 86400)
    return _(
        "Vous restez connecté sur chaque appareil pendant %(max)s au plus.",
        max=ngettext("%(num)d jour", "%(num)d jours", days),
    )
