"""Driving the demo source (faults, outage) and loading demo members and accounts."""

from __future__ import annotations

import logging
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select

from webapp.extensions import db
from webapp.live.monitor import get_monitor
from webapp.models import Agreement
from webapp.models import Member
from webapp.models import User
from webapp.models.choices import MemberRole
from webapp.models.choices import StaffRole
from webapp.services import accounts
from webapp.services import billing
from webapp.services import members as member_service
from webapp.services import meter
from webapp.sources.demo import DEMO_MEMBERS
from webapp.sources.demo import DemoSource

logger = logging.getLogger(__name__)

DEMO_PASSWORD = "demo-vigie-2026"
ADMIN_EMAIL = "admin@demo.example.org"
SUPPORT_EMAIL = "support@demo.example.org"
EXPIRED_AGREEMENT = "sde-rohrbach"  # the demo member whose agreement has run out


def _source() -> DemoSource:
    source = get_monitor().source
    if not isinstance(source, DemoSource):
        raise RuntimeError("The configured source is not the demo source")
    return source


def enabled() -> bool:
    """Whether the configured source is the demo (read from the settings: nothing is built)."""
    return current_app.config.get("SOURCE", "demo") == "demo"


def _estate() -> DemoSource:
    """The demo estate: the running demo source, or, on another source, the same estate offline.

    The development Zabbix (``make zabbix-up``) is provisioned with this estate, so
    the demo members and accounts are loaded there too without calling Zabbix.
    """
    if enabled():
        return _source()
    config = current_app.config
    return DemoSource(
        seed=int(config.get("DEMO_SEED", 42)),
        members=int(config.get("DEMO_MEMBERS", 8)),
        items=config.get("DEMO_ITEMS"),
        incidents=False,
    )


def fail(host: str) -> None:
    _source().fail(host)
    get_monitor().refresh()


def warn(host: str) -> None:
    """A warning on ``host``: it keeps working, with a problem below the down threshold."""
    _source().warn(host)
    get_monitor().refresh()


def repair(host: str) -> bool:
    repaired = _source().repair(host)
    get_monitor().refresh()
    return repaired


def set_outage(down: bool) -> None:
    _source().set_outage(down)
    get_monitor().refresh()


def faults() -> dict[str, datetime]:
    return _source().faults()


def demo_accounts() -> list[tuple[str, str, str]]:
    """(e-mail, password, what it is) of every demo login, for ``make run`` to print."""
    source = _estate()
    rows = [
        (ADMIN_EMAIL, DEMO_PASSWORD, "administrateur du syndicat"),
        (SUPPORT_EMAIL, DEMO_PASSWORD, "support du syndicat"),
    ]
    for member in source.members[: len(DEMO_MEMBERS)]:  # the hand-written ones
        rows.append(
            (f"elu@{member.slug}.demo.example.org", DEMO_PASSWORD, f"lecteur, {member.name}")
        )
        rows.append(
            (
                f"admin@{member.slug}.demo.example.org",
                DEMO_PASSWORD,
                f"administrateur, {member.name}",
            )
        )
    return rows


def load() -> int:
    """Create the demo members and accounts that do not exist yet; return how many rows."""
    if current_app.config["ENV"] == "production":
        raise RuntimeError("Demo data is refused when VIGIE_ENV=production")
    source = _estate()
    created = 0
    counts = source.probe_counts()
    for demo_member in source.members:
        member = db.session.execute(
            select(Member).where(Member.slug == demo_member.slug)
        ).scalar_one_or_none()
        if member is None:
            used = counts.get(demo_member.group, 0)
            pools, _probes = billing.required_subscription(
                used,
                int(current_app.config["MIN_PACKAGE_PROBES"]),
                int(current_app.config["POOL_SIZE_PROBES"]),
            )
            member = member_service.create_member(
                name=demo_member.name,
                slug=demo_member.slug,
                kind=demo_member.kind,
                siren=demo_member.siren
                if member_service.siren_is_valid(demo_member.siren)
                else None,
                host_groups=[demo_member.group],
                contact_name=f"Secrétariat, {demo_member.town}",
                pools=pools,
            )
            created += 1
        # 18 months of daily probe usage, so that the meter's chart has a history to show.
        created += meter.backfill_demo_history(
            member, counts.get(demo_member.group, 0), int(current_app.config.get("DEMO_SEED", 42))
        )
        # The water syndicate's agreement has run out: the portal shows what that means.
        created += _demo_agreement(member, expired=demo_member.slug == EXPIRED_AGREEMENT)
    for email, password, what in demo_accounts():
        if accounts.find_user(email):
            continue
        staff = None
        member = None
        role = MemberRole.VIEWER
        if email == ADMIN_EMAIL:
            staff = StaffRole.ADMIN
        elif email == SUPPORT_EMAIL:
            staff = StaffRole.SUPPORT
        else:
            slug = email.split("@", 1)[1].split(".", 1)[0]
            member = db.session.execute(select(Member).where(Member.slug == slug)).scalar_one()
            role = MemberRole.MEMBER_ADMIN if email.startswith("admin@") else MemberRole.VIEWER
        name = what.split(",")[0].capitalize()
        accounts.create_user(
            email,
            f"Démo – {name}",
            member=member,
            role=role,
            staff_role=staff,
            password=password,
            is_demo=True,
        )
        created += 1
    created += _demo_support_requests()
    created += _demo_history(source)
    logger.info("Demo data loaded (%d new rows)", created)
    return created


# Past failures of each demo member, so that its devices' history and its last 7 days have
# something to tell on a fresh ``make run``: (role, days ago, minutes it lasted, brief).
_DEMO_HISTORY = [
    ("router", 2.3, 95, False),
    ("switch", 5.1, 38, False),
    ("camera", 0.6, 1, True),
    ("router", 12.4, 260, False),
    ("camera", 19.8, 45, False),
]


def _demo_history(source: DemoSource) -> int:
    """Ended incidents on the demo members' real devices (told long ago: nothing is sent)."""
    from webapp.models import Incident
    from webapp.models.alerts import IncidentState

    if db.session.scalar(select(Incident.id).limit(1)) is not None:
        return 0
    now = datetime.now(UTC)
    behind: dict[str, list[str]] = {}
    for dependency in source.dependencies():
        behind.setdefault(dependency.depends_on, []).append(dependency.hostid)

    def dependents(hostid: str) -> int:
        seen, todo = set(), list(behind.get(hostid, ()))
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(behind.get(current, ()))
        return len(seen)

    created = 0
    for demo_member in source.members[: len(DEMO_MEMBERS)]:
        member = db.session.scalars(select(Member).where(Member.slug == demo_member.slug)).one()
        hosts = source.hosts([demo_member.group])
        for role, days, minutes, brief in _DEMO_HISTORY:
            host = next((h for h in hosts if h.tag("role") == role), None)
            if host is None:
                continue
            ended = now - timedelta(days=days)
            started = ended - timedelta(minutes=minutes)
            db.session.add(
                Incident(
                    member_id=member.id,
                    key=host.hostid,
                    hostid=host.hostid,
                    cause=host.name[:255],
                    site=host.tag("site"),
                    severity=4,
                    dependents=dependents(host.hostid),
                    problem=f"{host.name} : pas de réponse ICMP"[:255],
                    down=True,
                    role=role,
                    state=IncidentState.CANCELLED if brief else IncidentState.RESOLVED,
                    opened_at=started,
                    told_at=None if brief else started + timedelta(minutes=1),
                    resolved_at=ended,
                    recovery_told_at=None if brief else ended,
                )
            )
            created += 1
    db.session.commit()
    return created


# A support queue that reads like a real one: (member index, who, subject, message, category,
# urgency, hours ago, what happened since: a list of (step, hours ago, text)).
_DEMO_REQUESTS = [
    (
        0,
        "elu",
        "La caméra du parking ne répond plus",
        "Depuis ce matin l'écran de la mairie reste noir pour la caméra du parking.",
        "outage",
        "high",
        30,
        [
            ("take", 29, None),
            ("comment", 29, "Nous regardons : la caméra ne répond plus au réseau."),
            ("note", 28, "Alimentation PoE du commutateur à vérifier."),
            ("resolve", 26, "Le port du commutateur a été redémarré ; la caméra filme de nouveau."),
            ("rate", 25, None),
        ],
    ),
    (
        1,
        "admin",
        "Connexion lente à l'école",
        "Les enseignants signalent des pages qui mettent longtemps à s'ouvrir l'après-midi.",
        "slowness",
        "normal",
        6,
        [
            ("take", 5, None),
            ("comment", 5, "Pouvez-vous nous dire à quelle heure précisément ?"),
            ("wait", 5, None),
        ],
    ),
    (
        2,
        "admin",
        "Ajouter les sondes de la nouvelle salle serveur",
        "Nous installons deux serveurs la semaine prochaine.",
        "probe",
        "low",
        50,
        [],
    ),
    (
        3,
        "elu",
        "Imprimante du secrétariat hors ligne",
        "Elle n'imprime plus depuis hier.",
        "outage",
        "critical",
        2,
        [],
    ),
    (
        4,
        "admin",
        "Question sur les alertes SMS",
        "Peut-on recevoir les alertes par SMS la nuit seulement pour les pannes graves ?",
        "question",
        "normal",
        3,
        [("take", 2, None)],
    ),
    (
        5,
        "phone",
        "Appel : téléphone de l'accueil muet",
        "Appel de la secrétaire : le téléphone de l'accueil ne sonne plus.",
        "outage",
        "high",
        1,
        [],
    ),
]


def _demo_support_requests() -> int:
    """A few requests in every status, so that ``make run`` shows a living support queue."""
    from webapp.models import SupportRequest
    from webapp.services import support

    if db.session.scalar(select(SupportRequest.id).limit(1)) is not None:
        return 0
    from webapp.models import Delivery

    agent = accounts.find_user(SUPPORT_EMAIL)
    members = db.session.scalars(select(Member).order_by(Member.id)).all()
    before = db.session.scalar(select(func.max(Delivery.id))) or 0
    now = datetime.now(UTC)
    created = 0
    for index, who, subject, message, category, urgency, hours, steps in _DEMO_REQUESTS:
        if index >= len(members) or agent is None:
            continue
        member = members[index]
        author = (
            agent if who == "phone" else accounts.find_user(f"{who}@{member.slug}.demo.example.org")
        )
        if author is None:
            continue
        values = {"subject": subject, "message": message, "category": category, "urgency": urgency}
        if who == "phone":
            values["contact"] = f"Secrétariat de {member.name}"
        request = support.open_request(
            member, author, support.parse_new(values), now=now - timedelta(hours=hours)
        )
        support.assign(
            request, agent, agent.id if steps else None, now=now - timedelta(hours=hours)
        )
        for step, ago, text in steps:
            at = now - timedelta(hours=ago)
            if step == "take":
                support.change_status(request, agent, "in_progress", now=at)
            elif step in ("comment", "note"):
                support.add_comment(request, agent, text, internal=step == "note", now=at)
            elif step == "wait":
                support.change_status(request, agent, "waiting_member", now=at)
            elif step == "resolve":
                support.change_status(request, agent, "resolved", resolution=text, now=at)
            elif step == "rate":
                support.rate(request, author, True, "Merci, très rapide.", now=at)
        created += 1
    # A story told in the past: nobody is sent its messages (the outbox would mail them now).
    db.session.execute(delete(Delivery).where(Delivery.id > before, Delivery.key.like("support-%")))
    db.session.commit()
    return created


def _demo_agreement(member: Member, *, expired: bool) -> int:
    """A signed agreement for a demo member, if it has none (the last one's has expired,
    so the demo shows what a member without a current agreement is told). Commits."""
    if db.session.scalar(select(Agreement.id).where(Agreement.member_id == member.id)):
        return 0
    today = meter.today()
    signed = today - timedelta(days=meter.DEMO_HISTORY_DAYS)
    renewal = today - timedelta(days=30) if expired else date(signed.year + 3, signed.month, 1)
    subscription = member.subscription
    db.session.add(
        Agreement(
            member=member,
            reference=f"CONV-{signed.year}-{member.id:03d}",
            signed_on=signed,
            renewal_on=renewal,
            package_probes=subscription.package_probes if subscription else 100,
        )
    )
    db.session.commit()
    return 1


def demo_users() -> list[User]:
    return list(db.session.execute(select(User).where(User.is_demo.is_(True))).scalars())
