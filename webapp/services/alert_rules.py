"""What each person wants to be told: their own rule, else their member's defaults.

Defaults (no rule saved): every member user gets e-mail (and the portal's notification
centre) for severity Haute and above, with recoveries; push and SMS as soon as they
are set up (a subscribed device, a confirmed number). A member admin's defaults for
the member's users are a rule with ``member_id``; syndicate staff rules may cover every
member (empty ``member_ids``).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Collection
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from topology.model import Severity
from webapp.channels.base import ChannelName
from webapp.extensions import db
from webapp.models import AlertRule
from webapp.models import Member
from webapp.models import Membership
from webapp.models import User
from webapp.models.member import as_utc
from webapp.models.member import utcnow
from webapp.services import overview
from webapp.services.errors import ValidationError

logger = logging.getLogger(__name__)

ALL_CHANNELS = (ChannelName.EMAIL, ChannelName.PUSH, ChannelName.SMS, ChannelName.PORTAL)


@dataclass(frozen=True)
class Rule:
    channels: frozenset[str]
    min_severity: int = int(Severity.HIGH)
    member_ids: frozenset[int] = frozenset()  # empty: all the user's members
    sites: frozenset[str] = frozenset()  # empty: every site
    quiet_start: time | None = None
    quiet_end: time | None = None
    quiet_except_disasters: bool = True
    recoveries: bool = True
    muted_until: datetime | None = None

    def covers(self, member_id: int, site: str | None, severity: int) -> bool:
        if severity < self.min_severity:
            return False
        if self.member_ids and member_id not in self.member_ids:
            return False
        return not (self.sites and (site or "") not in self.sites)

    def muted(self, now: datetime) -> bool:
        return self.muted_until is not None and as_utc(self.muted_until) > now

    def quiet_until(self, now: datetime, zone: ZoneInfo) -> datetime | None:
        """When the quiet hours around ``now`` end, or ``None`` outside them."""
        if self.quiet_start is None or self.quiet_end is None or self.quiet_start == self.quiet_end:
            return None
        local = now.astimezone(zone)
        clock = local.time().replace(tzinfo=None)
        start, end = self.quiet_start, self.quiet_end
        inside = (start <= clock < end) if start < end else (clock >= start or clock < end)
        if not inside:
            return None
        ends = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
        if ends <= local:
            ends += timedelta(days=1)
        return ends.astimezone(now.tzinfo)


DEFAULT_RULE = Rule(channels=frozenset(ALL_CHANNELS))


def parse_clock(value: str | None) -> time | None:
    """« 22:00 » → 22:00; blank → None; :class:`ValueError` otherwise."""
    if value is None or not str(value).strip():
        return None
    hours, _, minutes = str(value).strip().partition(":")
    return time(int(hours), int(minutes or 0))


def from_row(row: AlertRule) -> Rule:
    return Rule(
        channels=frozenset(row.channels or ()),
        min_severity=row.min_severity,
        member_ids=frozenset(row.member_ids or ()),
        sites=frozenset(row.sites or ()),
        quiet_start=parse_clock(row.quiet_start),
        quiet_end=parse_clock(row.quiet_end),
        quiet_except_disasters=row.quiet_except_disasters,
        recoveries=row.recoveries,
        muted_until=row.muted_until,
    )


def rule_row(user: User) -> AlertRule | None:
    return db.session.scalar(select(AlertRule).where(AlertRule.user_id == user.id))


def member_defaults_row(member: Member) -> AlertRule | None:
    return db.session.scalar(select(AlertRule).where(AlertRule.member_id == member.id))


def effective(user: User, member: Member | None = None) -> Rule:
    """The rule that applies to ``user`` (for an alert of ``member``)."""
    row = rule_row(user)
    if row is None and member is not None:
        defaults = member_defaults_row(member)
        if defaults is not None:
            # A member's defaults never narrow the members: they are the member's own.
            return from_row(defaults)
    return from_row(row) if row is not None else DEFAULT_RULE


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


# ---- editing rules: the profile page, a member's defaults page and the JSON API -------------
#
# One checker for all three: a rule arrives as the API writes it (``channels``,
# ``min_severity``, ``members`` as slugs, ``sites``, ``quiet_hours`` {start, end,
# except_disasters}, ``recoveries``, ``muted_until``) and every refusal names its field
# (``quiet_hours.start``) with a French message.

RULE_FIELDS = (
    "channels",
    "min_severity",
    "members",
    "sites",
    "quiet_hours",
    "recoveries",
    "muted_until",
)
QUIET_FIELDS = ("start", "end", "except_disasters")
MUTE_HOURS = (1, 4, 8)
MUTE_MAX = timedelta(days=30)
SITE_MAX = 120
SITES_MAX = 100
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_FORBIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn"}


@dataclass(frozen=True)
class Applied:
    """The rule that applies to a person and where it comes from.

    ``source``: ``own`` (their saved rule), ``member`` (the defaults of ``defaults_of``,
    their members that set some) or ``default`` (Vigie's, or nothing for staff).
    """

    rule: Rule
    source: str
    defaults_of: tuple[Member, ...] = ()
    row: AlertRule | None = None


def user_members(user: User) -> list[Member]:
    """The members whose alerts ``user`` may ask for: every member for staff."""
    if user.is_staff:
        return list(db.session.scalars(select(Member).order_by(Member.name)))
    return list(
        db.session.scalars(
            select(Member)
            .join(Membership, Membership.member_id == Member.id)
            .where(Membership.user_id == user.id)
            .order_by(Membership.id)
        )
    )


def applied(user: User) -> Applied:
    """What ``user`` is told today, for the settings page and ``GET /me/alert-rules``."""
    row = rule_row(user)
    if row is not None:
        return Applied(from_row(row), "own", row=row)
    if user.is_staff:  # staff hear nothing until they save a rule (alerts.recipients)
        return Applied(DEFAULT_RULE, "default")
    members = user_members(user)
    with_defaults = [m for m in members if member_defaults_row(m) is not None]
    if with_defaults:
        return Applied(effective(user, with_defaults[0]), "member", tuple(with_defaults))
    return Applied(DEFAULT_RULE, "default")


def known_sites(members: Sequence[Member]) -> list[str] | None:
    """Site names of these members' equipment, as the source tags them; ``None`` before
    the source has answered (then any well-formed name is accepted)."""
    sites: set[str] = set()
    answered = False
    for member in members:
        status = overview.status_of(member)
        if status is None:
            continue
        answered = True
        sites.update(node.site for node in status.member_map.nodes if node.site)
    return sorted(sites, key=str.casefold) if answered else None


def _strict_clock(value: Any, field: str, errors: dict[str, str]) -> str | None:
    if not isinstance(value, str) or not _CLOCK.match(value.strip()):
        errors[field] = _("Heure invalide : écrivez-la comme 22:00 (de 00:00 à 23:59).")
        return None
    hours, minutes = value.strip().split(":")
    return f"{int(hours):02d}:{minutes}"


def _aware_moment(value: Any) -> datetime | None:
    """An ISO 8601 moment; without an offset it is read in the syndicate's time zone."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone())
    return moment.astimezone(UTC)


def _plain(text: str) -> bool:
    return all(c not in "<>" and unicodedata.category(c) not in _FORBIDDEN for c in text)


def check(
    payload: Any,
    *,
    members: Sequence[Member],
    sites: Collection[str] | None,
    for_member: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The :class:`AlertRule` columns for ``payload``, or :class:`ValidationError`.

    ``members``: those the rule may name (the person's, all for staff); ``sites``: the
    names that exist (``None``: not known yet). ``for_member``: a member's defaults, which
    cover that member only (no ``members``) and mute nobody. ``muted_until`` absent: the
    caller keeps the current one (the key is then missing from the result).
    """
    now = now or utcnow()
    if not isinstance(payload, Mapping):
        raise ValidationError({"body": _("Un objet JSON est attendu.")})
    errors: dict[str, str] = {}
    for key in payload:
        if key not in RULE_FIELDS:
            errors[str(key)[:60]] = _("Champ inconnu.")
    out: dict[str, Any] = {}

    channels = payload.get("channels")
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        errors["channels"] = _("Liste de canaux attendue (email, push, sms, portal).")
    else:
        unknown = [c for c in channels if c not in ALL_CHANNELS]
        if unknown:
            errors["channels"] = _(
                "Canal inconnu : « %(name)s ». Canaux possibles : email, push, sms, portal.",
                name=unknown[0][:40],
            )
        out["channels"] = [c for c in ALL_CHANNELS if c in channels]

    severity = payload.get("min_severity")
    if isinstance(severity, bool) or not isinstance(severity, int) or not 0 <= severity <= 5:
        errors["min_severity"] = _(
            "Gravité minimale entre 0 (non classé) et 5 (désastre) attendue."
        )
    else:
        out["min_severity"] = severity

    slugs = payload.get("members")
    slugs = [] if slugs is None else slugs  # null or absent: every member
    if for_member:
        if slugs != []:
            errors["members"] = _(
                "Les réglages par défaut d’un membre ne portent que sur ce membre."
            )
        out["member_ids"] = []
    elif not isinstance(slugs, list) or not all(isinstance(s, str) for s in slugs):
        errors["members"] = _("Liste d’identifiants de membres attendue.")
    else:
        by_slug = {m.slug: m for m in members}
        unknown = [s for s in slugs if s not in by_slug]
        if unknown:
            # The same words whether the member exists or not: nobody learns of others.
            errors["members"] = _("Membre inconnu : « %(slug)s ».", slug=unknown[0][:63])
        out["member_ids"] = sorted({by_slug[s].id for s in slugs if s in by_slug})

    names = payload.get("sites")
    names = [] if names is None else names  # null or absent: every site
    if not isinstance(names, list) or not all(isinstance(s, str) for s in names):
        errors["sites"] = _("Liste de noms de sites attendue.")
    else:
        cleaned = sorted({s.strip() for s in names if s.strip()}, key=str.casefold)
        if len(cleaned) > SITES_MAX:
            errors["sites"] = _("%(max)d sites au plus.", max=SITES_MAX)
        bad = [s for s in cleaned if len(s) > SITE_MAX or not _plain(s)]
        if bad:
            errors["sites"] = _("Nom de site invalide : texte simple, 120 caractères au plus.")
        elif sites is not None:
            unknown = [s for s in cleaned if s not in sites]
            if unknown:
                errors["sites"] = _("Site inconnu : « %(name)s ».", name=unknown[0])
        out["sites"] = cleaned

    quiet = payload.get("quiet_hours")
    out.update(quiet_start=None, quiet_end=None, quiet_except_disasters=True)
    if quiet is not None:
        if not isinstance(quiet, Mapping):
            errors["quiet_hours"] = _(
                "Objet attendu : {start, end, except_disasters}, ou null pour aucune."
            )
        else:
            for key in quiet:
                if key not in QUIET_FIELDS:
                    errors[f"quiet_hours.{str(key)[:40]}"] = _("Champ inconnu.")
            start = _strict_clock(quiet.get("start"), "quiet_hours.start", errors)
            end = _strict_clock(quiet.get("end"), "quiet_hours.end", errors)
            if start and end and start == end:
                errors["quiet_hours.end"] = _("La fin des heures calmes doit différer du début.")
            except_disasters = quiet.get("except_disasters", True)
            if not isinstance(except_disasters, bool):
                errors["quiet_hours.except_disasters"] = _("Vrai ou faux attendu.")
            out.update(quiet_start=start, quiet_end=end, quiet_except_disasters=except_disasters)

    recoveries = payload.get("recoveries", True)
    if not isinstance(recoveries, bool):
        errors["recoveries"] = _("Vrai ou faux attendu.")
    out["recoveries"] = recoveries

    if "muted_until" in payload:
        raw = payload["muted_until"]
        moment = None if raw is None else _aware_moment(raw)
        if raw is not None and moment is None:
            errors["muted_until"] = _(
                "Date et heure ISO 8601 attendue (par exemple 2026-12-01T08:00:00+01:00), ou null."
            )
        elif for_member and moment is not None:
            errors["muted_until"] = _("Les réglages par défaut d’un membre ne coupent personne.")
        elif moment is not None and moment > now + MUTE_MAX:
            errors["muted_until"] = _("Les alertes se coupent pour 30 jours au plus.")
        else:
            out["muted_until"] = moment if moment is not None and moment > now else None

    if errors:
        raise ValidationError(errors)
    return out


def _save(find, make, values: Mapping[str, Any]) -> AlertRule:
    """Write ``values`` on the row ``find()`` returns, or on ``make()``; commits.

    Two first saves at once (two tabs, a double tap): the loser edits the winner's row.
    """
    for attempt in (1, 2):
        row = find()
        if row is None:
            row = make()
            db.session.add(row)
        for name, value in values.items():
            setattr(row, name, list(value) if isinstance(value, list) else value)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            if attempt == 2:
                raise
            continue
        return row
    raise AssertionError("unreachable")


def save_user_rule(user: User, payload: Any, now: datetime | None = None) -> AlertRule:
    """Check ``payload`` and make it ``user``'s own rule (commits)."""
    values = check(
        payload,
        members=user_members(user),
        sites=_sites_allowed(user_members(user), rule_row(user)),
        now=now,
    )
    row = _save(lambda: rule_row(user), lambda: AlertRule(user_id=user.id), values)
    logger.info("Alert rule of user %s saved", user.id)
    return row


def save_member_defaults(member: Member, payload: Any) -> AlertRule:
    """Check ``payload`` and make it the defaults of ``member``'s users (commits)."""
    values = check(
        payload,
        members=[member],
        sites=_sites_allowed([member], member_defaults_row(member)),
        for_member=True,
    )
    values.pop("muted_until", None)
    row = _save(lambda: member_defaults_row(member), lambda: AlertRule(member_id=member.id), values)
    logger.info("Alert defaults of member %s saved", member.slug)
    return row


def _sites_allowed(members: Sequence[Member], row: AlertRule | None) -> set[str] | None:
    """Known sites, plus those the rule names already (a site may leave the source)."""
    known = known_sites(members)
    if known is None:
        return None
    return set(known) | set(row.sites or () if row is not None else ())


def reset(user: User) -> bool:
    """Forget ``user``'s own rule: back to their member's defaults. Commits."""
    row = rule_row(user)
    if row is None:
        return False
    db.session.delete(row)
    db.session.commit()
    logger.info("Alert rule of user %s reset to the defaults", user.id)
    return True


def _columns(rule: Rule) -> dict[str, Any]:
    return {
        "channels": [c for c in ALL_CHANNELS if c in rule.channels],
        "min_severity": rule.min_severity,
        "member_ids": sorted(rule.member_ids),
        "sites": sorted(rule.sites, key=str.casefold),
        "quiet_start": format_clock(rule.quiet_start),
        "quiet_end": format_clock(rule.quiet_end),
        "quiet_except_disasters": rule.quiet_except_disasters,
        "recoveries": rule.recoveries,
    }


def format_clock(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def inherited(user: User) -> Rule | None:
    """What ``user`` follows without a rule of their own: their (first) member's defaults,
    else Vigie's; ``None`` for staff, who hear nothing until they save one."""
    if user.is_staff:
        return None
    for member in user_members(user):
        defaults = member_defaults_row(member)
        if defaults is not None:
            return from_row(defaults)
    return DEFAULT_RULE


def mute(user: User, hours: Any, now: datetime | None = None) -> datetime:
    """Silence every alert of ``user`` for 1, 4 or 8 hours; when it ends. Commits.

    Without a rule of their own, the person gets a copy of the one they follow (which
    :func:`unmute` removes again while it is still that copy).
    """
    if isinstance(hours, bool) or hours not in MUTE_HOURS:
        raise ValidationError({"hours": _("Durée possible : 1, 4 ou 8 heures.")})
    rule = from_row(row) if (row := rule_row(user)) is not None else inherited(user)
    if rule is None:
        raise ValidationError(
            {"hours": _("Vous ne recevez aucune alerte pour le moment : rien à couper.")}
        )
    until = (now or utcnow()) + timedelta(hours=hours)
    copy = _columns(rule)
    _save(
        lambda: rule_row(user), lambda: AlertRule(user_id=user.id, **copy), {"muted_until": until}
    )
    logger.info("Alerts of user %s muted for %s h", user.id, hours)
    return until


def unmute(user: User) -> None:
    """Alerts again, at once. Commits."""
    row = rule_row(user)
    if row is None:
        return
    row.muted_until = None
    followed = inherited(user)
    if followed is not None and _columns(from_row(row)) == _columns(followed):
        db.session.delete(row)  # only a copy holding the mute: follow the defaults again
    db.session.commit()
    logger.info("Alerts of user %s back on", user.id)


@dataclass(frozen=True)
class Settings:
    """What a settings page needs: the rule in force, the members and sites to offer."""

    applied: Applied
    members: list[Member]
    sites: list[str]  # the source's names, plus those the rule names already


def settings(user: User) -> Settings:
    """``user``'s alert settings page."""
    members = user_members(user)
    found = applied(user)
    return Settings(found, members, _offered_sites(members, found.rule))


def member_settings(member: Member) -> Settings:
    """A member's defaults page: its saved defaults, else Vigie's."""
    row = member_defaults_row(member)
    rule = from_row(row) if row is not None else DEFAULT_RULE
    found = Applied(rule, "member" if row is not None else "default", (member,), row)
    return Settings(found, [member], _offered_sites([member], rule))


def _offered_sites(members: Sequence[Member], rule: Rule) -> list[str]:
    return sorted(set(known_sites(members) or ()) | set(rule.sites), key=str.casefold)


@dataclass(frozen=True)
class Followers:
    following: int  # the member's users without a rule of their own
    own: int  # those with their own rule


def followers(member: Member) -> Followers:
    """How many of ``member``'s users follow its defaults, and how many have their own."""
    users = select(Membership.user_id).where(Membership.member_id == member.id)
    total = db.session.scalar(select(func.count()).select_from(users.subquery())) or 0
    own = (
        db.session.scalar(select(func.count(AlertRule.id)).where(AlertRule.user_id.in_(users))) or 0
    )
    return Followers(following=int(total) - int(own), own=int(own))
