"""Deciding who is told what: root-cause incidents, the alert delay, quiet hours, digests.

Two halves, in two processes:

* :func:`observe` runs in the poller (the one leader) after a cycle, for the members
  whose state changed: it keeps one :class:`~webapp.models.alerts.Incident` per root
  cause (a router down with 12 devices behind it is ONE incident naming the router and
  the 12), opened ``pending``; a repair within the alert delay cancels it.
* :func:`decide` runs in the delivery worker: incidents pending for ``ALERT_DELAY`` are
  told — all the pending incidents of a member in ONE message per person and channel —
  and repaired ones get their recovery; messages are written to the outbox in the same
  transaction that marks the incident told. During a person's quiet hours messages are
  held and :func:`release_held` turns them into one digest when the hours end (except
  disasters, if the person wants those at night). Maintenances: hosts in a Zabbix
  maintenance raise no incident; members are told of a planned one ahead, at its start
  and at its end.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from topology.model import IncidentKind
from topology.model import NodeState
from topology.model import Severity
from webapp.channels.base import ChannelName
from webapp.extensions import db
from webapp.models import Delivery
from webapp.models import Incident
from webapp.models import MaintenanceNotice
from webapp.models import Member
from webapp.models import Membership
from webapp.models import PushSubscription
from webapp.models import User
from webapp.models.alerts import AlertRule
from webapp.models.alerts import DeliveryStatus
from webapp.models.alerts import IncidentState
from webapp.models.member import as_utc
from webapp.models.member import utcnow
from webapp.presenters import clock
from webapp.presenters import support as support_words
from webapp.services import alert_rules
from webapp.services import outbox
from webapp.services import support
from webapp.services.alert_rules import Rule

logger = logging.getLogger(__name__)

LIVE = (IncidentState.PENDING, IncidentState.OPEN)


# ---- observing (the poller) ---------------------------------------------------------------


@dataclass(frozen=True)
class Cause:
    """One root cause seen at one member (from ``topology``'s incident summary)."""

    key: str
    hostid: str
    cause: str
    site: str | None
    severity: int
    dependents: int
    problem: str
    down: bool
    role: str = ""


def causes_of(member_map) -> list[Cause]:
    """The incidents of a member's analysed map, as the alerts see them."""
    causes = []
    for incident in member_map.incidents:
        problem = incident.problems[0].name if incident.problems else ""
        causes.append(
            Cause(
                key=str(incident.root),
                hostid=str(incident.root),
                cause=incident.label,
                site=incident.site,
                severity=int(incident.severity),
                dependents=len(incident.affected),
                problem=problem,
                down=incident.kind == IncidentKind.DOWN,
                role=str(incident.role or ""),
            )
        )
    return causes


def observe_cycle(statuses: dict, maintenances: list[tuple] | None) -> None:
    """The poller's observer (:class:`webapp.live.poller.Poller`): member id → status."""
    observe(
        {member_id: causes_of(status.member_map) for member_id, status in statuses.items()},
        maintenances,
        paused={
            member_id: {
                str(n.id) for n in status.member_map.nodes if n.state == NodeState.MAINTENANCE
            }
            for member_id, status in statuses.items()
        },
    )


def observe(
    seen: dict[int, list[Cause]],
    maintenances: list[tuple] | None = None,
    now: datetime | None = None,
    paused: dict[int, set[str]] | None = None,
) -> None:
    """Record what the poller saw for members ``seen`` (member id → its causes); commits.

    ``maintenances``: ``(member id, Maintenance, hosts of the member it covers)`` of every
    member, planned or running (given when the snapshot's maintenances changed).
    ``paused``: hosts now in maintenance, per member — their incident ends without a
    recovery message (it is not repaired, it is being worked on).
    """
    paused = paused or {}
    now = now or utcnow()
    if seen:
        rows = db.session.scalars(
            select(Incident).where(Incident.member_id.in_(seen), Incident.state.in_(LIVE))
        )
        live: dict[tuple[int, str], Incident] = {(r.member_id, r.key): r for r in rows}
        for member_id, causes in seen.items():
            keys = set()
            for cause in causes:
                keys.add(cause.key)
                row = live.get((member_id, cause.key))
                if row is None:
                    db.session.add(
                        Incident(
                            member_id=member_id,
                            key=cause.key,
                            hostid=cause.hostid,
                            cause=cause.cause[:255],
                            site=cause.site,
                            severity=cause.severity,
                            dependents=cause.dependents,
                            problem=cause.problem[:255],
                            down=cause.down,
                            role=cause.role[:20],
                            state=IncidentState.PENDING,
                            opened_at=now,
                        )
                    )
                    continue
                row.dependents = max(row.dependents, cause.dependents)
                row.down = row.down or cause.down
                row.severity = max(row.severity, cause.severity)
                row.cause = cause.cause[:255]
            for (mid, key), row in live.items():
                if mid != member_id or key in keys:
                    continue
                if row.state == IncidentState.PENDING:
                    row.state = IncidentState.CANCELLED  # repaired within the delay: silence
                else:
                    row.state = IncidentState.RESOLVED
                    if row.hostid in paused.get(member_id, ()):
                        row.recovery_told_at = now  # in maintenance: no « réparé »
                row.resolved_at = now
    if maintenances is not None:
        _observe_maintenances(maintenances)
    db.session.commit()


def _observe_maintenances(maintenances) -> None:
    rows = db.session.scalars(select(MaintenanceNotice))
    known = {(r.member_id, r.maintenanceid): r for r in rows}
    for member_id, maintenance, hosts in maintenances:
        row = known.get((member_id, maintenance.maintenanceid))
        if row is None:
            db.session.add(
                MaintenanceNotice(
                    member_id=member_id,
                    maintenanceid=maintenance.maintenanceid,
                    name=maintenance.name[:255],
                    starts_at=maintenance.active_since,
                    ends_at=maintenance.active_till,
                    hosts=hosts,
                )
            )
        elif row.ended_told_at is None:
            row.name = maintenance.name[:255]
            row.starts_at, row.ends_at, row.hosts = (
                maintenance.active_since,
                maintenance.active_till,
                hosts,
            )


# ---- deciding (the worker) ----------------------------------------------------------------


def decide(now: datetime | None = None) -> int:
    """Tell what is due: openings after the delay, recoveries, maintenance notices.

    Returns how many messages were queued. Each member's decision commits on its own.
    """
    now = now or utcnow()
    delay = timedelta(seconds=float(current_app.config["ALERT_DELAY"]))
    queued = 0
    due_members = db.session.scalars(
        select(Incident.member_id)
        .where(Incident.state == IncidentState.PENDING, Incident.opened_at <= now - delay)
        .distinct()
    ).all()
    for member_id in due_members:
        queued += _decided(_tell_openings, member_id, now)
    recovered = db.session.scalars(
        select(Incident)
        .where(Incident.state == IncidentState.RESOLVED, Incident.recovery_told_at.is_(None))
        .order_by(Incident.id)
    ).all()
    for incident in recovered:
        queued += _decided(_tell_recovery, incident, now)
    queued += _tell_maintenances(now)
    return queued


def _decided(decide_one, subject, now: datetime) -> int:
    """One decision in its own transaction; another worker's same decision wins."""
    try:
        return decide_one(subject, now)
    except IntegrityError:
        db.session.rollback()
        logger.info("Another worker made this decision first (%s)", subject)
        return 0


def _tell_openings(member_id: int, now: datetime) -> int:
    member = db.session.get(Member, member_id)
    incidents = db.session.scalars(
        select(Incident)
        .where(Incident.member_id == member_id, Incident.state == IncidentState.PENDING)
        .order_by(Incident.severity.desc(), Incident.opened_at, Incident.id)
        .with_for_update()
    ).all()
    if not incidents:
        db.session.rollback()
        return 0
    group = f"incident-{incidents[0].id}"
    for incident in incidents:
        incident.state = IncidentState.OPEN
        incident.told_at = now
        incident.group_key = group
    severity = max(i.severity for i in incidents)
    sites = {i.site for i in incidents}
    count = 0
    for user, rule in recipients(member):
        if not any(rule.covers(member.id, i.site, i.severity) for i in incidents):
            continue
        mine = [i for i in incidents if rule.covers(member.id, i.site, i.severity)]
        with force_locale(user.locale or "fr"):
            text = opening_text(member, mine, now)
        count += _queue(user, rule, f"{group}:open", "problem", text, mine[0], severity, now)
    logger.info(
        "Alert %s for %s: %d incident(s) on %d site(s), %d message(s)",
        group,
        member.slug,
        len(incidents),
        len(sites),
        count,
    )
    db.session.commit()
    return count


def _tell_recovery(incident: Incident, now: datetime) -> int:
    incident.recovery_told_at = now
    member = incident.member
    count = 0
    for user, rule in recipients(member):
        if not rule.recoveries or not rule.covers(member.id, incident.site, incident.severity):
            continue
        with force_locale(user.locale or "fr"):
            text = recovery_text(member, incident, now)
        key = f"incident-{incident.id}:resolved"
        count += _queue(user, rule, key, "recovery", text, incident, incident.severity, now)
    db.session.commit()
    return count


def _tell_maintenances(now: datetime) -> int:
    ahead = timedelta(seconds=float(current_app.config["MAINTENANCE_NOTICE_AHEAD"]))
    count = 0
    rows = db.session.scalars(
        select(MaintenanceNotice).where(MaintenanceNotice.ended_told_at.is_(None))
    ).all()
    for row in rows:
        starts, ends = as_utc(row.starts_at), as_utc(row.ends_at)
        step = None
        if ends <= now:
            if row.started_told_at is None and row.announced_at is None:
                row.ended_told_at = now  # over before anyone could be told: nothing to say
                continue
            step, row.ended_told_at = "end", now
        elif starts <= now and row.started_told_at is None:
            step, row.started_told_at = "start", now
        elif now < starts <= now + ahead and row.announced_at is None:
            step, row.announced_at = "planned", now
        if step is None:
            continue
        member = row.member
        for user, rule in recipients(member):
            if not rule.covers(member.id, None, int(Severity.DISASTER)):  # members, sites
                continue
            with force_locale(user.locale or "fr"):
                text = maintenance_text(member, row, step)
            key = f"maintenance-{row.id}:{step}"
            count += _queue(user, rule, key, "maintenance", text, None, 2, now)
        db.session.commit()
    return count


# ---- who, on which channels ---------------------------------------------------------------


def recipients(member: Member) -> list[tuple[User, Rule]]:
    """The member's active users, and staff whose own rule covers the member."""
    users = db.session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.member_id == member.id, User.active.is_(True))
        .order_by(User.id)
    ).all()
    staff = db.session.scalars(
        select(User)
        .join(AlertRule, AlertRule.user_id == User.id)
        .where(User.staff_role.is_not(None), User.active.is_(True))
        .order_by(User.id)
    ).all()
    seen, out = set(), []
    for user in [*users, *staff]:
        if user.id in seen:
            continue
        seen.add(user.id)
        # A staff rule with no member list covers every member (Rule.covers).
        out.append((user, alert_rules.effective(user, member)))
    return out


@dataclass(frozen=True)
class Text:
    subject: str
    body: str
    sms: str
    url: str


def _queue(
    user: User,
    rule: Rule,
    state_key: str,
    kind: str,
    text: Text,
    incident: Incident | None,
    severity: int,
    now: datetime,
) -> int:
    """One message per channel of ``user`` (one per device for push); how many queued."""
    if rule.muted(now):
        return 0
    hold = rule.quiet_until(now, alert_rules.zone())
    if hold is not None and severity >= int(Severity.DISASTER) and rule.quiet_except_disasters:
        hold = None
    group = incident.group_key if incident is not None and incident.group_key else None
    data = {
        "url": text.url,
        "severity": severity,
        "sms": text.sms,
        "topic": _topic(incident.member_id, incident.key) if incident is not None else None,
        "thread": f"{group}:open" if group and kind == "recovery" else None,
    }
    count = 0
    for channel in sorted(rule.channels):
        targets: Iterable[tuple[str, dict]]
        if channel == ChannelName.PUSH:
            subscriptions = db.session.scalars(
                select(PushSubscription).where(PushSubscription.user_id == user.id)
            ).all()
            targets = [(f"device-{s.id}", {"subscription_id": s.id}) for s in subscriptions]
        elif channel == ChannelName.SMS:
            targets = [(f"user-{user.id}", {})] if user.phone and user.phone_confirmed_at else []
        elif channel == ChannelName.EMAIL:
            targets = [(f"user-{user.id}", {})] if user.email else []
        elif channel == ChannelName.PORTAL:
            targets = [(f"user-{user.id}", {})]
        else:
            continue
        for recipient, extra in targets:
            held = hold if channel != ChannelName.PORTAL else None
            delivery = outbox.enqueue(
                key=f"{state_key}:{channel}:{recipient}",
                user=user,
                channel=channel,
                kind=kind,
                subject=text.subject,
                body=text.body,
                data={**data, **extra},
                incident=incident,
                hold_until=held,
                fresh=True,  # the decision's own transaction: see outbox.enqueue
            )
            count += delivery is not None
    return count


def _topic(member_id: int, key: str) -> str:
    """A push ``Topic`` per incident: ≤ 32 URL-safe characters."""
    return hashlib.sha256(f"{member_id}:{key}".encode()).hexdigest()[:32]


# ---- quiet hours: held messages become one digest -------------------------------------------


def release_held(now: datetime | None = None) -> int:
    """Held messages whose quiet hours ended: one digest per person and channel (device)."""
    now = now or utcnow()
    rows = db.session.scalars(
        select(Delivery)
        .where(Delivery.status == DeliveryStatus.HELD, Delivery.hold_until <= now)
        .options(selectinload(Delivery.incident), selectinload(Delivery.user))
        .order_by(Delivery.user_id, Delivery.channel, Delivery.id)
        .with_for_update()
    ).all()
    if not rows:
        db.session.rollback()
        return 0
    batches: dict[tuple, list[Delivery]] = defaultdict(list)
    for row in rows:
        device = (row.data or {}).get("subscription_id")
        batches[(row.user_id, row.channel, device)].append(row)
    count = 0
    for (_user_id, channel, device), held in batches.items():
        user = held[0].user
        for row in held:
            row.status = DeliveryStatus.CANCELLED
            row.last_error = "Regroupé dans le résumé de fin de période calme."
        if len(held) == 1:  # one message: sent as it was, no digest
            row = held[0]
            row.status = DeliveryStatus.QUEUED
            row.last_error = None
            row.hold_until = None
            row.next_attempt_at = now
            count += 1
            continue
        with force_locale(user.locale or "fr"):
            text = digest_text(held, now)
        stamp = min(as_utc(r.hold_until) for r in held).strftime("%Y%m%dT%H%M")
        recipient = f"device-{device}" if device else f"user-{user.id}"
        delivery = outbox.enqueue(
            key=f"digest-{stamp}:{channel}:{recipient}",
            user=user,
            channel=channel,
            kind="digest",
            subject=text.subject,
            body=text.body,
            data={
                "url": text.url,
                "severity": max(int((r.data or {}).get("severity") or 0) for r in held),
                "sms": text.sms,
                "subscription_id": device,
                "digest_of": [r.id for r in held],
            },
        )
        count += delivery is not None
    db.session.commit()
    return count


# ---- the words ------------------------------------------------------------------------------


def _url(member: Member, hostid: str | None = None) -> str:
    base = current_app.config["BASE_URL"].rstrip("/")
    if hostid:
        return f"{base}/membres/{member.slug}/equipements/{hostid}"
    return f"{base}/membres/{member.slug}/carte"


def _name(incident: Incident) -> str:
    """« Box fibre (Collège) »: the site is said once, if the label does not say it."""
    site = incident.site
    if site and site.casefold() not in incident.cause.casefold():
        return _("« %(cause)s » (%(site)s)", cause=incident.cause, site=site)
    return _("« %(cause)s »", cause=incident.cause)


_UPSTREAM = {"access", "link"}
_GATEWAY = {"router", "firewall"}


def _what(incident: Incident) -> str:
    """What it means, for someone who is not an IT person (no Zabbix words)."""
    name = _name(incident)
    if not incident.down:
        return _(
            "%(name)s signale un problème : %(problem)s. Il fonctionne encore.",
            name=name,
            problem=incident.problem or _("anomalie détectée"),
        )
    lines = [_("%(name)s ne répond plus.", name=name)]
    if incident.dependents:
        lines.append(
            ngettext(
                "L'équipement qui est derrière lui n'est plus joignable.",
                "Les %(num)d équipements qui sont derrière lui ne sont plus joignables.",
                incident.dependents,
            )
        )
    if incident.role in _UPSTREAM:
        lines.append(_("L'accès à Internet est probablement coupé sur ce site."))
    elif incident.role in _GATEWAY and incident.dependents:
        lines.append(_("Le réseau de ce site est probablement coupé."))
    return " ".join(lines)


def _short(incident: Incident, since: str) -> str:
    """The same, in a few words (an SMS): « … en panne depuis 20 h 09, 12 équipements … »."""
    if not incident.down:
        return _("alerte sur %(name)s %(since)s", name=_name(incident), since=since)
    if incident.dependents:
        return ngettext(
            "%(name)s en panne %(since)s, %(num)d équipement injoignable",
            "%(name)s en panne %(since)s, %(num)d équipements injoignables",
            incident.dependents,
            name=_name(incident),
            since=since,
        )
    return _("%(name)s en panne %(since)s", name=_name(incident), since=since)


def _urgent(subject: str, severity: int) -> str:
    return (
        _("Urgent – %(subject)s", subject=subject)
        if severity >= int(Severity.DISASTER)
        else subject
    )


def opening_text(member: Member, incidents: list[Incident], now: datetime) -> Text:
    first = incidents[0]
    started = min(as_utc(i.opened_at) for i in incidents)
    since = clock.since(started, now)
    severity = max(i.severity for i in incidents)
    if len(incidents) == 1:
        if first.down:
            subject = _("%(member)s : %(name)s en panne", member=member.name, name=_name(first))
        else:
            subject = _("%(member)s : alerte sur %(name)s", member=member.name, name=_name(first))
        lines = [_what(first)]
        short = _short(first, since)
    else:
        subject = _(
            "%(member)s : %(num)d problèmes en cours", member=member.name, num=len(incidents)
        )
        lines = [f"– {_what(i)}" for i in incidents]
        short = _(
            "%(num)d problèmes, dont %(first)s", num=len(incidents), first=_short(first, since)
        )
    care = support.care_of(member)  # "support is on it": an open request covers it
    on_it = [care[i.hostid] for i in incidents if i.hostid in care]
    body = "\n".join(
        [
            *lines,
            _("Depuis %(time)s.", time=clock.time_of_day(started)),
            *([support_words.care_sentence(on_it[0], now=now) + "."] if on_it else []),
            _("Vigie vous préviendra dès que ce sera réparé."),
        ]
    )
    sms = _("Vigie %(member)s : %(what)s.", member=member.name, what=short)
    return Text(_urgent(subject, severity), body, sms, _url(member, first.hostid))


def recovery_text(member: Member, incident: Incident, now: datetime) -> Text:
    resolved = as_utc(incident.resolved_at or now)
    lasted = int((resolved - as_utc(incident.opened_at)).total_seconds())
    minutes = max(1, round(lasted / 60))
    duration = (
        ngettext("%(num)d minute", "%(num)d minutes", minutes)
        if minutes < 120
        else ngettext("%(num)d heure", "%(num)d heures", round(minutes / 60))
    )
    name = _name(incident)
    subject = _("%(member)s : %(name)s fonctionne de nouveau", member=member.name, name=name)
    lines = [
        _(
            "%(name)s fonctionne de nouveau depuis %(time)s, après %(duration)s de panne.",
            name=name,
            time=clock.time_of_day(resolved),
            duration=duration,
        )
    ]
    if incident.dependents:
        lines.append(
            ngettext(
                "L'équipement qui était derrière lui est de nouveau joignable.",
                "Les %(num)d équipements qui étaient derrière lui sont de nouveau joignables.",
                incident.dependents,
            )
        )
    body = "\n".join(lines)
    sms = _(
        "Vigie %(member)s : %(name)s fonctionne de nouveau (%(time)s).",
        member=member.name,
        name=name,
        time=clock.time_of_day(resolved),
    )
    return Text(subject, body, sms, _url(member, incident.hostid))


def maintenance_text(member: Member, notice: MaintenanceNotice, step: str) -> Text:
    starts, ends = clock.moment(as_utc(notice.starts_at)), clock.moment(as_utc(notice.ends_at))
    hosts = ngettext("%(num)d équipement", "%(num)d équipements", notice.hosts)
    if step == "planned":
        subject = _("Maintenance prévue à %(member)s", member=member.name)
        body = _(
            "Une maintenance est prévue du %(start)s au %(end)s (%(name)s) : %(hosts)s "
            "pourront être coupés. Aucune alerte ne sera envoyée pour eux pendant ce temps.",
            start=starts,
            end=ends,
            name=notice.name,
            hosts=hosts,
        )
    elif step == "start":
        subject = _("Maintenance en cours à %(member)s", member=member.name)
        body = _(
            "La maintenance « %(name)s » a commencé ; elle doit se terminer le %(end)s. "
            "%(hosts)s peuvent être coupés en attendant.",
            name=notice.name,
            end=ends,
            hosts=hosts,
        )
    else:
        subject = _("Maintenance terminée à %(member)s", member=member.name)
        body = _(
            "La maintenance « %(name)s » est terminée : Vigie surveille de nouveau "
            "normalement ces équipements.",
            name=notice.name,
        )
    return Text(subject, body, f"Vigie {member.name} : {body}", _url(member))


def digest_text(held: list[Delivery], now: datetime) -> Text:
    """What broke, what is still broken, what was repaired — during the quiet hours."""
    incidents: dict[int, Incident] = {}
    others: list[str] = []
    for row in held:
        if row.incident is not None:
            incidents[row.incident.id] = row.incident
        else:
            others.append(row.subject)
    still = [i for i in incidents.values() if i.state == IncidentState.OPEN]
    repaired = [i for i in incidents.values() if i.state == IncidentState.RESOLVED]
    lines = [_("Pendant votre période calme :")]
    for incident in still:
        lines.append(_("Toujours en cours : %(what)s", what=_what(incident)))
    for incident in repaired:
        lines.append(_("Réparé depuis : %(name)s.", name=_name(incident)))
    lines.extend(others)
    subject = ngettext(
        "Vigie : %(num)d message pendant votre période calme",
        "Vigie : %(num)d messages pendant votre période calme",
        len(held),
    )
    member = (still or repaired or [None])[0]
    url = (
        _url(member.member, member.hostid)
        if member is not None
        else current_app.config["BASE_URL"].rstrip("/") + "/"
    )
    body = "\n".join(lines)
    return Text(subject, body, body, url)
