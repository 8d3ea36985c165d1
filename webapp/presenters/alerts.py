"""Alert settings, delivery log, notification centre and delivery health, in words.

One computation feeds the pages and the JSON API: channel names, the plain-French
severity choices, each delivery's state (« Retenu jusqu’à 7 h 00 »), the sentence
saying which settings apply, and the rows of the administrators' health tables.
Times go through :mod:`webapp.presenters.clock` (the syndicate's time zone).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from webapp.channels.base import ChannelName
from webapp.models import Delivery
from webapp.models import Member
from webapp.models.alerts import DeliveryStatus
from webapp.models.choices import SEVERITY_LABELS
from webapp.models.member import as_utc
from webapp.models.member import utcnow
from webapp.presenters import clock
from webapp.services.alert_rules import Applied
from webapp.services.alert_rules import Rule
from webapp.services.alert_rules import Settings
from webapp.services.alert_rules import format_clock
from webapp.services.deliveries import Health
from webapp.services.paging import Page

__all__ = [
    "CHANNEL_LABELS",
    "channel_choices",
    "delivery_json",
    "delivery_view",
    "health_view",
    "notification_json",
    "notification_target",
    "rule_choices",
    "rule_json",
    "rule_view",
    "severity_choices",
]

CHANNEL_LABELS = {
    ChannelName.EMAIL: _l("E-mail"),
    ChannelName.PUSH: _l("Notifications sur ce téléphone"),
    ChannelName.SMS: _l("SMS"),
    ChannelName.PORTAL: _l("Centre de notifications du portail"),
}
CHANNEL_HINTS = {
    ChannelName.EMAIL: _l("À votre adresse de connexion."),
    ChannelName.PUSH: _l("Sur chaque appareil ajouté plus bas, même portail fermé."),
    ChannelName.SMS: _l("Au numéro de mobile confirmé plus bas."),
    ChannelName.PORTAL: _l("Le lien « Notifications », en haut de chaque page du portail."),
}
# The delivery log's headings: a push goes to every device of the person.
LOG_LABELS = {**CHANNEL_LABELS, ChannelName.PUSH: _l("Notifications sur vos appareils")}
# Short names for the administrators' tables (narrow screens).
SHORT_LABELS = {
    ChannelName.EMAIL: _l("E-mail"),
    ChannelName.PUSH: _l("Push"),
    ChannelName.SMS: _l("SMS"),
    ChannelName.PORTAL: _l("Portail"),
}
# The same, on a member's defaults page: about each of its users.
MEMBER_CHANNEL_HINTS = {
    ChannelName.EMAIL: _l("À l’adresse de connexion de chacun."),
    ChannelName.PUSH: _l("Sur les appareils que chacun a ajoutés à ses alertes."),
    ChannelName.SMS: _l("Au numéro de mobile que chacun a confirmé."),
    ChannelName.PORTAL: _l("Le lien « Notifications », en haut de chaque page du portail."),
}
CHANNEL_ORDER = (ChannelName.EMAIL, ChannelName.PUSH, ChannelName.SMS, ChannelName.PORTAL)

# The plain-French thresholds offered on the settings pages (min_severity).
SEVERITY_CHOICES = (
    (5, _l("Seulement les désastres"), _l("Gravité « Désastre » : le service entier est arrêté.")),
    (4, _l("Seulement les pannes graves"), _l("Gravités « Haute » et « Désastre ».")),
    (3, _l("Aussi les alertes moyennes"), _l("À partir de la gravité « Moyenne ».")),
    (0, _l("Tout"), _l("Même les avertissements et les simples informations.")),
)

STATUS_LABELS = {
    DeliveryStatus.QUEUED: (_l("En attente d’envoi"), "queued", "…"),
    DeliveryStatus.HELD: (_l("Retenu (heures calmes)"), "held", "☾"),
    DeliveryStatus.SENDING: (_l("En cours d’envoi"), "queued", "…"),
    DeliveryStatus.SENT: (_l("Envoyé"), "sent", "✓"),
    DeliveryStatus.FAILED: (_l("Échec"), "failed", "✕"),
    DeliveryStatus.CANCELLED: (_l("Non envoyé"), "cancelled", "–"),
}


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    hint: str


def channel_choices(for_member: bool = False) -> list[Choice]:
    hints = MEMBER_CHANNEL_HINTS if for_member else CHANNEL_HINTS
    return [Choice(c.value, str(CHANNEL_LABELS[c]), str(hints[c])) for c in CHANNEL_ORDER]


def severity_choices(current: int | None = None) -> list[Choice]:
    """The offered thresholds, plus the current one when the API set another."""
    choices = [Choice(str(v), str(label), str(hint)) for v, label, hint in SEVERITY_CHOICES]
    if current is not None and current not in {v for v, _label, _hint in SEVERITY_CHOICES}:
        label = SEVERITY_LABELS.get(current, str(current))
        choices.insert(
            -1,
            Choice(
                str(current),
                _("À partir de « %(level)s »", level=label),
                _("Le réglage actuel, choisi par l’API."),
            ),
        )
    return choices


@dataclass(frozen=True)
class RuleChoices:
    """What a settings form offers; empty ``members``: the field is not shown."""

    channels: list[Choice]
    severities: list[Choice]
    members: list[Choice]
    sites: list[Choice]


def rule_choices(settings: Settings, with_members: bool, for_member: bool = False) -> RuleChoices:
    return RuleChoices(
        channels=channel_choices(for_member),
        severities=severity_choices(settings.applied.rule.min_severity),
        members=[Choice(m.slug, m.name, "") for m in settings.members] if with_members else [],
        sites=[Choice(s, s, "") for s in settings.sites],
    )


def _severity_phrase(value: int) -> str:
    for threshold, label, _hint in SEVERITY_CHOICES:
        if threshold == value:
            return str(label).lower() if value else _("toutes les alertes")
    return _(
        "les alertes à partir de la gravité « %(level)s »",
        level=SEVERITY_LABELS.get(value, str(value)),
    )


def _join(words: Sequence[str]) -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return _("%(first)s et %(last)s", first=", ".join(words[:-1]), last=words[-1])


# ---- the rule that applies ------------------------------------------------------------------


@dataclass(frozen=True)
class RuleView:
    source: str
    source_text: str
    summary: str
    muted: bool
    muted_text: str | None
    quiet_text: str | None
    can_reset: bool


def rule_view(applied: Applied, staff: bool, now: datetime | None = None) -> RuleView:
    """What the settings page says above its form."""
    now = now or utcnow()
    rule = applied.rule
    if applied.source == "member":
        names = _join([m.name for m in applied.defaults_of])
        source_text = _(
            "Vous suivez les réglages par défaut de %(names)s, choisis par son administrateur. "
            "Enregistrer ce formulaire crée vos propres réglages.",
            names=names,
        )
    elif applied.source == "own":
        source_text = _("Vous avez vos propres réglages.")
    elif staff:
        source_text = _(
            "Vous ne recevez encore aucune alerte : enregistrez vos réglages pour en recevoir."
        )
    else:
        source_text = _(
            "Vous suivez les réglages par défaut de Vigie. Enregistrer ce formulaire crée vos "
            "propres réglages."
        )
    muted = rule.muted(now)
    return RuleView(
        source=applied.source,
        source_text=source_text,
        summary=_rule_sentence(rule) if (applied.source != "default" or not staff) else "",
        muted=muted,
        muted_text=_("Alertes coupées jusqu’à %(time)s.", time=_when(rule.muted_until, now))
        if muted
        else None,
        quiet_text=_(
            "Heures calmes de %(start)s à %(end)s.",
            start=_clock(rule.quiet_start),
            end=_clock(rule.quiet_end),
        )
        if rule.quiet_start and rule.quiet_end
        else None,
        can_reset=applied.source == "own" and not staff,
    )


def _clock(value) -> str:
    return _("%(h)s h %(m)s", h=str(value.hour), m=f"{value.minute:02d}")


def _when(moment: datetime | None, now: datetime) -> str:
    """« 14 h 30 » today, « 30/11/2026 à 14 h 30 » another day."""
    if moment is None:
        return "—"
    if clock.local(moment).date() == clock.local(now).date():
        return clock.time_of_day(moment)
    return clock.moment(moment)


def _rule_sentence(rule: Rule) -> str:
    channels = [str(CHANNEL_LABELS[c]) for c in CHANNEL_ORDER if c in rule.channels]
    if not channels:
        return _("Aucun canal choisi : vous ne recevez aucune alerte.")
    what = _severity_phrase(rule.min_severity)
    return _(
        "Vous recevez %(what)s. Canaux : %(channels)s.",
        what=what,
        channels=", ".join(channels),
    )


def rule_json(applied: Applied, members: Sequence[Member], now: datetime | None = None) -> dict:
    """``GET /api/v1/me/alert-rules``."""
    now = now or utcnow()
    rule = applied.rule
    slugs = {m.id: m.slug for m in members}
    quiet = None
    if rule.quiet_start is not None and rule.quiet_end is not None:
        quiet = {
            "start": format_clock(rule.quiet_start),
            "end": format_clock(rule.quiet_end),
            "except_disasters": rule.quiet_except_disasters,
        }
    return {
        "source": applied.source,
        "member_defaults": [m.slug for m in applied.defaults_of],
        "channels": [str(c) for c in CHANNEL_ORDER if c in rule.channels],
        "min_severity": rule.min_severity,
        "members": sorted(slugs[i] for i in rule.member_ids if i in slugs),
        "sites": sorted(rule.sites, key=str.casefold),
        "quiet_hours": quiet,
        "recoveries": rule.recoveries,
        "muted_until": as_utc(rule.muted_until).isoformat() if rule.muted(now) else None,
    }


# ---- the delivery log ---------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryView:
    id: int
    channel: str
    channel_label: str
    subject: str
    status: str
    status_label: str
    modifier: str
    glyph: str
    detail: str
    when: str  # « envoyé le 30/11/2026 à 20 h 09 », « créé le … »


def _status(row: Delivery, now: datetime) -> tuple[str, str]:
    """The state's label and what to add (a time, a reason), in plain French."""
    label, _modifier, _glyph = STATUS_LABELS.get(
        DeliveryStatus(row.status), STATUS_LABELS[DeliveryStatus.QUEUED]
    )
    status = row.status
    if status == DeliveryStatus.HELD and row.hold_until is not None:
        return (
            _("Retenu jusqu’à %(time)s", time=_when(row.hold_until, now)),
            _("Heures calmes : il partira dans le résumé de fin de période."),
        )
    if status == DeliveryStatus.QUEUED and row.attempts and row.last_error:
        return (
            str(label),
            _(
                "Nouvel essai à %(time)s. Dernière erreur : %(error)s",
                time=_when(row.next_attempt_at, now),
                error=row.last_error,
            ),
        )
    if status == DeliveryStatus.SENT:
        if row.channel == ChannelName.PORTAL:
            return str(label), _("Lu.") if row.read_at else _("Pas encore lu.")
        return str(label), ""
    if status == DeliveryStatus.FAILED:
        return str(label), row.last_error or _("Raison inconnue.")
    if status == DeliveryStatus.CANCELLED:
        return str(label), row.last_error or _("Abandonné volontairement.")
    return str(label), ""


def delivery_view(row: Delivery, now: datetime | None = None) -> DeliveryView:
    now = now or utcnow()
    _label, modifier, glyph = STATUS_LABELS.get(
        DeliveryStatus(row.status), STATUS_LABELS[DeliveryStatus.QUEUED]
    )
    label, detail = _status(row, now)
    return DeliveryView(
        id=row.id,
        channel=row.channel,
        channel_label=str(CHANNEL_LABELS.get(row.channel, row.channel)),
        subject=row.subject,
        status=row.status,
        status_label=label,
        modifier=modifier,
        glyph=glyph,
        detail=detail,
        when=_("envoyé le %(date)s", date=clock.moment(row.sent_at))
        if row.status == DeliveryStatus.SENT and row.sent_at
        else _("créé le %(date)s", date=clock.moment(row.created_at)),
    )


def delivery_log(groups: dict[str, list[Delivery]]) -> list[tuple[str, list[DeliveryView]]]:
    """The settings page's log: (channel label, its recent messages) per channel."""
    now = utcnow()
    return [
        (str(LOG_LABELS[c]), [delivery_view(r, now) for r in groups[c]])
        for c in CHANNEL_ORDER
        if c in groups
    ]


def _iso(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment is not None else None


def delivery_json(row: Delivery, now: datetime | None = None) -> dict[str, Any]:
    label, detail = _status(row, now or utcnow())
    return {
        "id": row.id,
        "channel": row.channel,
        "kind": row.kind,
        "subject": row.subject,
        "status": row.status,
        "status_text": label,
        "detail": detail,
        "error": row.last_error if row.status in ("failed", "queued", "cancelled") else None,
        "provider": row.provider,
        "attempts": row.attempts,
        "created_at": _iso(row.created_at),
        "hold_until": _iso(row.hold_until) if row.status == DeliveryStatus.HELD else None,
        "sent_at": _iso(row.sent_at),
    }


def page_json(page: Page, key: str, items: list[dict]) -> dict[str, Any]:
    return {
        key: items,
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
    }


# ---- the notification centre ----------------------------------------------------------------


def notification_target(row: Delivery) -> str | None:
    """Where a notification leads: its ``data["url"]`` as a path of this portal, or None.

    Only links to the portal itself are followed (``VIGIE_BASE_URL`` or a path): never an
    open redirect.
    """
    url = (row.data or {}).get("url")
    if not isinstance(url, str) or not url:
        return None
    parts = urlsplit(url)
    base = urlsplit(current_app.config["BASE_URL"])
    if parts.scheme or parts.netloc:
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            return None
    elif not url.startswith("/") or url.startswith("//"):
        return None
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    return (
        path
        + (f"?{parts.query}" if parts.query else "")
        + (f"#{parts.fragment}" if parts.fragment else "")
    )


@dataclass(frozen=True)
class NotificationView:
    id: int
    subject: str
    body: str
    unread: bool
    when: str
    has_target: bool
    severity: str | None


def notification_view(row: Delivery) -> NotificationView:
    severity = (row.data or {}).get("severity")
    return NotificationView(
        id=row.id,
        subject=row.subject,
        body=row.body,
        unread=row.read_at is None,
        when=clock.moment(row.sent_at or row.created_at),
        has_target=notification_target(row) is not None,
        severity=str(SEVERITY_LABELS[severity])
        if isinstance(severity, int) and severity in SEVERITY_LABELS
        else None,
    )


def notification_json(row: Delivery) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "subject": row.subject,
        "body": row.body,
        "url": notification_target(row),
        "severity": (row.data or {}).get("severity"),
        "sent_at": _iso(row.sent_at),
        "read": row.read_at is not None,
    }


def unread_label(count: int) -> str:
    """« 3 notifications non lues »: the header link's accessible name."""
    if count == 0:
        return _("Notifications, aucune non lue")
    if count == 1:
        return _("1 notification non lue")
    return _("%(num)d notifications non lues", num=count)


# ---- delivery health --------------------------------------------------------------------


@dataclass(frozen=True)
class HealthTable:
    caption: str
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class HealthView:
    tables: list[HealthTable]
    failures: list[dict[str, str]]
    oldest_text: str


def health_view(health: Health, now: datetime | None = None) -> HealthView:
    now = now or utcnow()
    captions = {
        "day": _("Dernières 24 heures"),
        "week": _("7 derniers jours"),
    }
    tables = [
        HealthTable(
            captions[name],
            [
                {
                    "channel": str(SHORT_LABELS.get(row.channel, row.channel)),
                    "provider": row.provider or "—",
                    **row.counts,
                }
                for row in health.rows[name]
            ],
        )
        for name in ("day", "week")
    ]
    failures = [
        {
            "when": clock.moment(row.created_at),
            "channel": str(SHORT_LABELS.get(row.channel, row.channel)),
            "provider": row.provider or "—",
            "error": row.last_error or _("Raison inconnue."),
        }
        for row in health.failures
    ]
    if health.oldest_queued is None:
        oldest = _("Aucun message en attente d’envoi.")
    else:
        oldest = ngettext(
            "%(num)d message en attente ; il attend depuis %(age)s (créé le %(date)s).",
            "%(num)d messages en attente ; le plus ancien attend depuis %(age)s "
            "(créé le %(date)s).",
            health.queued_total,
            age=_age(health.oldest_queued_age_s or 0.0),
            date=clock.moment(health.oldest_queued.created_at),
        )
    return HealthView(tables, failures, oldest)


def _age(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return _("moins d’une minute")
    if minutes < 60:
        return _("%(num)d min", num=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("%(h)d h %(m)02d min", h=hours, m=minutes)
    return _("%(num)d jours", num=hours // 24)
