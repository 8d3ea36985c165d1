"""Support queue at a team's scale (issue 13): 300 members, 6,000 requests, 30,000 entries.

The app runs in this process on a throw-away SQLite file (and, when the project's
PostgreSQL already answers on ``VIGIE_PG_PORT`` — :data:`bench.stack.PG_ADMIN_URL` —
on a throw-away database there too; the server is never started nor stopped here).
The estate is seeded with SQLAlchemy Core (members through the service, so their host
groups and subscription are the real ones): :data:`MEMBERS` members with two users
each, :data:`AGENTS` support agents, :data:`PER_MEMBER` requests per member over every
status and urgency (one in five assigned to an agent, about one in ten overdue), about
:data:`ENTRIES_PER_REQUEST` thread entries each (comments, internal notes, status
changes, assignments) in French, and a rare word (:data:`RARE_WORD`) in
:data:`RARE_COMMENTS` comments for the search.

Measured through the Flask test client, logged in through the real form (an agent; the
member's list as one of the member's users): median and p95 of each page of
:data:`PAGES`, the size of ``/support``, and the SQL statements of one request of each
page (``before_cursor_execute``): their number, the ones run more than twice (an N+1
shows up there) and the slowest. ``/support`` is also split into its parts, called in
a request context: the queue's page (count + rows), the headline counts, the whole
presenter; the rest of the request is Jinja and Flask.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections import Counter
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from bench.common import bench_app
from bench.common import summary
from bench.common import temp_dir
from bench.stack import PG_ADMIN_URL
from bench.stack import PG_PORT
from bench.stack import port_open

MEMBERS = 300
PER_MEMBER = 20
AGENTS = 8
USERS_PER_MEMBER = 2
ENTRIES_PER_REQUEST = 5  # on average (3 to 7)
THREAD_ENTRIES = 20  # the staff thread page measured
ASSIGNED_SHARE = 0.2
OVERDUE_SHARE = 0.1
RARE_WORD = "parafoudre"
RARE_COMMENTS = 20
PASSWORD = "bench support queue password"
TARGET_MS = 150.0  # /support median (issue 13)
REPEAT, QUICK_REPEAT = 30, 8
SEED = 13

# (status, weight): every status, most requests done with.
STATUSES = (
    ("new", 12),
    ("in_progress", 20),
    ("waiting_member", 8),
    ("resolved", 15),
    ("closed", 45),
)
URGENCIES = (("low", 20), ("normal", 50), ("high", 22), ("critical", 8))
CATEGORIES = ("outage", "slowness", "probe", "question", "other")

TOWNS = (
    "Sarralbe Sarreguemines Bitche Forbach Morhange Dieuze Château-Salins Vic-sur-Seille "
    "Delme Albestroff Puttelange Rohrbach Volmunster Hambach Woustviller Rémering Siltzheim "
    "Herbitzheim Keskastel Oermingen Sarre-Union Fénétrange Mittersheim Lorquin Abreschviller "
    "Phalsbourg Sarrebourg Réding Héming Blâmont Lunéville Baccarat Insming Grostenquin "
    "Faulquemont Créhange Boulay Bouzonville Sierck Thionville Yutz Hayange Fameck Rombas "
    "Amnéville Hagondange Maizières Talange Woippy Metz Montigny Marly Ars-sur-Moselle Gorze "
    "Pange Courcelles Rémilly Solgne Verny Pournoy"
).split()
KINDS = (
    ("Commune de", "commune"),
    ("Mairie annexe de", "commune"),
    ("École de", "school"),
    ("Communauté de communes de", "epci"),
    ("Syndicat des eaux de", "public_body"),
)
FIRST_NAMES = (
    "Claire Julien Sophie Nicolas Isabelle Thomas Nathalie Pierre Émilie Laurent Céline "
    "Mathieu Sandrine Olivier Aurélie François Camille Sébastien Élodie Guillaume"
).split()
LAST_NAMES = (
    "Muller Schmitt Klein Weber Meyer Wagner Becker Hoffmann Schneider Fischer Martin "
    "Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent"
).split()
SUBJECTS = (
    "Imprimante du secrétariat hors ligne",
    "Lenteurs sur le réseau de la médiathèque",
    "La borne Wi-Fi de la salle des fêtes ne répond plus",
    "Demande de sonde pour le nouveau serveur de fichiers",
    "Téléphone de l'accueil sans tonalité",
    "Plus d'accès à la messagerie depuis ce matin",
    "Le routeur de l'école clignote en orange",
    "Coupure internet à la mairie annexe",
    "Question sur l'alerte reçue cette nuit",
    "Le copieur n'apparaît plus sur la carte",
    "Caméra du parking injoignable",
    "Sauvegarde du poste de la comptabilité en échec",
    "Ajouter le commutateur du gymnase à la supervision",
    "Débit très faible en fin de journée",
    "Le portail affiche l'équipement en panne alors qu'il marche",
)
MESSAGES = (
    "Bonjour, depuis ce matin {thing} ne fonctionne plus. Les agents ne peuvent plus "
    "travailler correctement. Pouvez-vous regarder rapidement ? Merci d'avance.",
    "Bonjour, nous constatons que {thing} est très lent depuis quelques jours, surtout "
    "entre 16 h et 18 h. Rien n'a été changé de notre côté à notre connaissance.",
    "Bonjour, la carte indique un problème sur {thing}. Nous avons redémarré l'appareil "
    "mais le voyant reste allumé. Faut-il faire venir un technicien ?",
    "Bonjour, serait-il possible d'ajouter {thing} à la supervision ? Il a été installé "
    "la semaine dernière par le prestataire. Cordialement.",
)
THINGS = (
    "l'imprimante du premier étage",
    "le réseau de l'école maternelle",
    "la borne Wi-Fi de la bibliothèque",
    "le serveur de fichiers",
    "le standard téléphonique",
    "la box de la salle polyvalente",
    "le commutateur du local technique",
)
AGENT_COMMENTS = (
    "Bonjour, nous avons bien reçu votre demande et nous regardons cela dans la journée.",
    "Nous voyons l'équipement hors ligne depuis 8 h 12. Pouvez-vous vérifier qu'il est "
    "bien alimenté et que le câble réseau est branché ?",
    "Le prestataire d'accès est prévenu, une intervention est planifiée demain matin.",
    "Nous avons redémarré le port du commutateur à distance, tout est revenu à la normale.",
    "Pouvez-vous nous envoyer une photo des voyants à l'avant de l'appareil ?",
)
MEMBER_COMMENTS = (
    "Merci, c'est branché et le voyant est vert, mais toujours rien côté poste.",
    "Voici la photo demandée. Le voyant de gauche clignote rapidement.",
    "Tout fonctionne de nouveau, merci pour votre réactivité !",
    "La secrétaire de mairie est présente jusqu'à 17 h si le technicien doit passer.",
)
NOTES = (
    "Vu avec l'opérateur : incident de collecte sur le secteur, ticket 48213.",
    "Déjà arrivé en mars, même cause (alimentation du coffret). À surveiller.",
    "Rappeler la mairie avant de clore, la personne préfère le téléphone.",
)
RARE_TEXT = (
    f"Le {RARE_WORD} du coffret électrique a disjoncté pendant l'orage ; il faut le "
    "réarmer avant de redémarrer la box."
)
RESOLUTIONS = (
    "Port du commutateur réinitialisé, l'équipement est de nouveau joignable.",
    "Intervention de l'opérateur sur la ligne, débit revenu à la normale.",
)

PAGES = {  # name -> URL ({thread} and {slug} filled in); the member's list as its user
    "queue_default": "/support",
    "queue_search_rare_word": f"/support?q={RARE_WORD}",
    "queue_overdue": "/support?overdue=1",
    "queue_all_page_100": "/support?statut=all&page=100",
    "queue_unassigned_critical_by_urgency": "/support?assignee=none&urgency=critical&sort=urgency",
    "staff_thread_20_entries": "/support/{thread}",
    "member_list": "/membres/{slug}/support",
}
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def _weighted(rng: random.Random, pairs) -> str:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def _slug(text: str) -> str:
    import unicodedata

    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-")


# ---- the estate ---------------------------------------------------------------------------


def _members() -> list[tuple[str, str, str]]:
    """(name, slug, kind) of :data:`MEMBERS` distinct members."""
    out = []
    for index in range(MEMBERS):
        prefix, kind = KINDS[index // len(TOWNS) % len(KINDS)]
        name = f"{prefix} {TOWNS[index % len(TOWNS)]}"
        out.append((name, _slug(name), kind))
    return out


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def seed(app) -> dict:
    """Members, users, requests and their threads; what the pages need to know."""
    from sqlalchemy import select
    from sqlalchemy import text

    from webapp.extensions import db
    from webapp.models import Membership
    from webapp.models import SupportEntry
    from webapp.models import SupportRequest
    from webapp.models import User
    from webapp.services import accounts
    from webapp.services import members as member_service
    from webapp.services import support

    rng = random.Random(SEED)
    started = time.perf_counter()
    with app.app_context():
        password_hash = accounts.hash_password(PASSWORD)
        members = []
        for name, slug, kind in _members():
            member = member_service.create_member(
                name=name, slug=slug, kind=kind, host_groups=[f"Membres/{slug}"]
            )
            members.append((member.id, slug))
        now = datetime.now(UTC)
        users = [
            {
                "email": f"agent{n}@syndicat.example.org",
                "name": _person(rng),
                "staff_role": "support",
                "locale": "fr",
                "password_hash": password_hash,
                "active": True,
                "is_demo": False,
                "phone_code_attempts": 0,
                "created_at": now,
            }
            for n in range(1, AGENTS + 1)
        ]
        for _member_id, slug in members:
            for n in range(1, USERS_PER_MEMBER + 1):
                users.append(
                    {
                        "email": f"{slug}.{n}@communes.example.org",
                        "name": _person(rng),
                        "staff_role": None,
                        "locale": "fr",
                        "password_hash": password_hash,
                        "active": True,
                        "is_demo": False,
                        "phone_code_attempts": 0,
                        "created_at": now,
                    }
                )
        db.session.execute(User.__table__.insert(), users)
        ids = dict(db.session.execute(select(User.email, User.id)).all())
        agents = [
            (ids[f"agent{n}@syndicat.example.org"], users[n - 1]["name"])
            for n in range(1, AGENTS + 1)
        ]
        member_users = {
            member_id: [
                ids[f"{slug}.{n}@communes.example.org"] for n in range(1, USERS_PER_MEMBER + 1)
            ]
            for member_id, slug in members
        }
        db.session.execute(
            Membership.__table__.insert(),
            [
                {"user_id": uid, "member_id": mid, "role": "member_admin" if i == 0 else "viewer"}
                for mid, uids in member_users.items()
                for i, uid in enumerate(uids)
            ],
        )

        with app.test_request_context():
            targets = support.targets()
        requests, entries = [], []
        overdue_p = OVERDUE_SHARE / (
            sum(w for s, w in STATUSES if s in ("new", "in_progress")) / sum(w for _, w in STATUSES)
        )
        request_id = 0
        thread_id = None
        for member_id, _ in members:
            for _n in range(PER_MEMBER):
                request_id += 1
                status = _weighted(rng, STATUSES)
                urgency = _weighted(rng, URGENCIES)
                response_s, resolution_s = targets[urgency]
                author = rng.choice(member_users[member_id])
                assignee = rng.choice(agents) if rng.random() < ASSIGNED_SHARE else None
                overdue = status in ("new", "in_progress") and rng.random() < overdue_p
                if status in ("new", "in_progress", "waiting_member"):
                    if overdue:  # past its resolution due date by up to three days
                        created = now - timedelta(
                            seconds=resolution_s + rng.uniform(600, 3 * 86400)
                        )
                    else:  # within its targets still
                        limit = response_s if status == "new" else resolution_s
                        created = now - timedelta(seconds=rng.uniform(60, limit * 0.8))
                else:
                    created = now - timedelta(days=rng.uniform(8, 365))
                answered = status != "new"
                first_response = created + timedelta(seconds=rng.uniform(60, response_s * 0.9))
                if status == "new" and overdue and rng.random() < 0.5:
                    # late for its first response only (no resolution yet, first answer due)
                    created = now - timedelta(seconds=response_s + rng.uniform(300, 7200))
                resolved = None
                if status in ("resolved", "closed"):
                    resolved = first_response + timedelta(seconds=rng.uniform(600, resolution_s))
                moments = sorted(
                    created + (now - created) * rng.random() for _ in range(ENTRIES_PER_REQUEST + 2)
                )
                count = rng.choice((3, 4, 5, 6, 7))
                if thread_id is None and status == "in_progress" and assignee and not overdue:
                    thread_id, count = request_id, THREAD_ENTRIES
                    moments = sorted(created + (now - created) * rng.random() for _ in range(count))
                subject = rng.choice(SUBJECTS)
                row = {
                    "id": request_id,
                    "member_id": member_id,
                    "author_id": author,
                    "hostid": None,
                    "host_label": None,
                    "subject": subject,
                    "message": rng.choice(MESSAGES).format(thing=rng.choice(THINGS)),
                    "status": status,
                    "category": rng.choice(CATEGORIES),
                    "urgency": urgency,
                    "channel": "phone" if rng.random() < 0.1 else "portal",
                    "contact": None,
                    "assignee_id": assignee[0] if assignee else None,
                    "incident_root": None,
                    "context": {},
                    "resolution": rng.choice(RESOLUTIONS) if resolved else None,
                    "rating": rng.choice(("satisfied", "satisfied", "unsatisfied", None))
                    if resolved
                    else None,
                    "rating_comment": None,
                    "rated_at": resolved + timedelta(hours=2) if resolved else None,
                    "created_at": created,
                    "updated_at": moments[-1] if count > 1 else created,
                    "first_response_at": first_response if answered else None,
                    "response_due_at": created + timedelta(seconds=response_s),
                    "resolution_due_at": created + timedelta(seconds=resolution_s),
                    "waiting_since": moments[-1] if status == "waiting_member" else None,
                    "waiting_seconds": rng.randrange(0, 86400) if answered else 0,
                    "resolved_at": resolved,
                    "closed_at": resolved + timedelta(days=7) if status == "closed" else None,
                    "reopened_count": 0,
                    "version": count,
                }
                requests.append(row)
                entries.extend(_thread(rng, row, count, moments, author, assignee, agents))
        for entry in rng.sample([e for e in entries if e["kind"] == "comment"], RARE_COMMENTS):
            entry["body"] = f"{entry['body']} {RARE_TEXT}"
        for index in range(0, len(requests), 2000):
            db.session.execute(SupportRequest.__table__.insert(), requests[index : index + 2000])
        for index in range(0, len(entries), 5000):
            db.session.execute(SupportEntry.__table__.insert(), entries[index : index + 5000])
        if db.engine.dialect.name == "postgresql":
            for table in ("support_request", "support_entry"):
                db.session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
            db.session.execute(text("ANALYZE"))
        else:
            db.session.execute(text("ANALYZE"))
        db.session.commit()
        with app.test_request_context():
            counts = support.counts()
    statuses = Counter(r["status"] for r in requests)
    member_slug = members[len(members) // 2][1]
    member_user = f"{member_slug}.1@communes.example.org"
    return {
        "seed_s": round(time.perf_counter() - started, 1),
        "members": len(members),
        "users": len(users),
        "agents": AGENTS,
        "requests": len(requests),
        "entries": len(entries),
        "requests_by_status": dict(sorted(statuses.items())),
        "requests_by_urgency": dict(sorted(Counter(r["urgency"] for r in requests).items())),
        "assigned": sum(1 for r in requests if r["assignee_id"]),
        "counts": counts,  # open / unassigned / overdue, as the queue's headline says them
        "rare_word": RARE_WORD,
        "rare_word_comments": RARE_COMMENTS,
        "rare_word_open_requests": len(
            {
                e["request_id"]
                for e in entries
                if e["body"]
                and RARE_WORD in e["body"]
                and requests[e["request_id"] - 1]["status"]
                in ("new", "in_progress", "waiting_member")
            }
        ),
        "thread_request": thread_id,
        "thread_entries": sum(1 for e in entries if e["request_id"] == thread_id),
        "member_slug": member_slug,
        "_agent_email": "agent1@syndicat.example.org",
        "_member_email": member_user,
    }


def _thread(rng, row, count, moments, author, assignee, agents) -> list[dict]:
    """``count`` entries of one request: opened, then comments, notes, changes."""
    agent = assignee or rng.choice(agents)
    out = [
        {
            "request_id": row["id"],
            "author_id": author,
            "kind": "opened",
            "internal": False,
            "body": None,
            "detail": {"channel": row["channel"]},
            "created_at": row["created_at"],
        }
    ]
    for index in range(1, count):
        at = moments[index] if index < len(moments) else moments[-1]
        pick = rng.random()
        if pick < 0.35:
            kind, who, internal, body, detail = (
                "comment",
                agent[0],
                False,
                rng.choice(AGENT_COMMENTS),
                {},
            )
        elif pick < 0.6:
            kind, who, internal, body, detail = (
                "comment",
                author,
                False,
                rng.choice(MEMBER_COMMENTS),
                {},
            )
        elif pick < 0.75:
            kind, who, internal, body, detail = ("note", agent[0], True, rng.choice(NOTES), {})
        elif pick < 0.9:
            kind, who, internal, body = ("status", agent[0], False, None)
            detail = {"from": "new", "to": "in_progress"}
        else:
            kind, who, internal, body = ("assigned", agent[0], False, None)
            detail = {"to": agent[1]}
        out.append(
            {
                "request_id": row["id"],
                "author_id": who,
                "kind": kind,
                "internal": internal,
                "body": body,
                "detail": detail,
                "created_at": at,
            }
        )
    return out


# ---- measuring ----------------------------------------------------------------------------


class Statements:
    """Every SQL statement the app's engine runs while ``on``: text and duration."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.on = False
        self.seen: list[tuple[str, float]] = []
        self._started: list[float] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.on:
            self._started.append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.on and self._started:
            self.seen.append((statement, (time.perf_counter() - self._started.pop()) * 1000))

    def record(self, func) -> list[tuple[str, float]]:
        self.seen, self._started, self.on = [], [], True
        try:
            func()
        finally:
            self.on = False
        return self.seen


def _short(statement: str, width: int = 160) -> str:
    return re.sub(r"\s+", " ", statement).strip()[:width]


def _sql_report(statements: list[tuple[str, float]]) -> dict:
    by_text = Counter(s for s, _ in statements)
    repeated = [
        {"times": n, "statement": _short(s, 240)} for s, n in by_text.most_common() if n > 2
    ]
    slowest = sorted(statements, key=lambda s: -s[1])[:3]
    return {
        "statements": len(statements),
        "distinct": len(by_text),
        "sql_ms_total": round(sum(ms for _, ms in statements), 2),
        "repeated_more_than_twice": repeated,
        "slowest": [{"ms": round(ms, 2), "statement": _short(s, 400)} for s, ms in slowest],
        "all": [f"{ms:7.2f} ms  {_short(s, 140)}" for s, ms in statements],
    }


def _login(client, email: str) -> None:
    page = client.get("/connexion").get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    response = client.post(
        "/connexion", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    if response.status_code != 302:
        raise RuntimeError(f"login of {email} failed: {response.status_code}")


def _get(client, url: str):
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url}: {response.status_code}")
    return response


def _parts(app, estate: dict, repeat: int) -> dict:
    """``/support`` split up: the queue's page, the counts, the presenter (request context)."""
    from flask_login import login_user

    from webapp.extensions import db
    from webapp.models import User
    from webapp.presenters import support as support_pages
    from webapp.services import support

    out = {}
    with app.test_request_context("/support"):
        agent = db.session.scalar(db.select(User).where(User.email == estate["_agent_email"]))
        login_user(agent)
        filters = support.parse_filters({}, [])
        for name, func in (
            ("service_queue_page_ms", lambda: support.queue(filters, agent)),
            ("service_counts_ms", support.counts),
            ("presenter_queue_ms", lambda: support_pages.queue(filters, agent)),
        ):
            samples = []
            for index in range(repeat + 2):
                db.session.expire_all()
                started = time.perf_counter()
                func()
                if index >= 2:
                    samples.append((time.perf_counter() - started) * 1000)
            out[name] = summary(samples, 2)
    return out


def _measure(app, estate: dict, repeat: int) -> dict:
    from webapp.extensions import db

    with app.app_context():
        recorder = Statements(db.engine)
    staff, member = app.test_client(), app.test_client()
    _login(staff, estate["_agent_email"])
    _login(member, estate["_member_email"])
    urls = {
        name: pattern.format(thread=estate["thread_request"], slug=estate["member_slug"])
        for name, pattern in PAGES.items()
    }
    clients = {name: member if name == "member_list" else staff for name in PAGES}
    for _ in range(2):  # warm-up: templates compiled, caches filled
        for name, url in urls.items():
            _get(clients[name], url)
    # Round-robin: a burst of load on the machine touches every page alike.
    samples: dict[str, list[float]] = {name: [] for name in PAGES}
    for _ in range(repeat):
        for name, url in urls.items():
            started = time.perf_counter()
            _get(clients[name], url)
            samples[name].append((time.perf_counter() - started) * 1000)
    pages = {}
    for name, url in urls.items():
        answers: list = []
        statements = recorder.record(lambda c=clients[name], u=url, a=answers: a.append(_get(c, u)))
        pages[name] = {
            "url": url,
            "as": "member admin" if name == "member_list" else "support agent",
            "ms": summary(samples[name], 2),
            "bytes": len(answers[0].get_data()),
            "sql": _sql_report(statements),
        }
    return {"pages": pages, "queue_default_parts": _parts(app, estate, repeat)}


def _backend(url: str | None, label: str, quick: bool) -> dict:
    tmp = temp_dir(f"support-{label}")
    overrides = {"SUPPORT_ATTACHMENTS_DIR": str(tmp / "attachments")}
    if url:
        overrides["DATABASE_URL"] = url
    started = time.perf_counter()
    app = bench_app(tmp, **overrides)
    estate = seed(app)
    result = _measure(app, estate, QUICK_REPEAT if quick else REPEAT)
    with app.app_context():
        from webapp.extensions import db

        db.session.remove()
        db.engine.dispose()
    return {
        "database": label,
        "setup_s": round(time.perf_counter() - started, 1),
        "estate": {k: v for k, v in estate.items() if not k.startswith("_")},
        **result,
    }


def _admin(statement: str) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy import text

    engine = create_engine(
        PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def _postgresql(quick: bool) -> dict:
    """The same on the project's PostgreSQL if it is up (never started nor stopped here)."""
    if not port_open(PG_PORT):
        return {
            "skipped": f"PostgreSQL does not answer on 127.0.0.1:{PG_PORT} "
            "(scripts/pg.sh up, then run again; this section never starts it)"
        }
    name = f"vigie_support_bench_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        return _backend(PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name, "postgresql", quick)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(quick: bool = False) -> dict:
    result = {
        "estate_spec": {
            "members": MEMBERS,
            "users_per_member": USERS_PER_MEMBER,
            "agents": AGENTS,
            "requests_per_member": PER_MEMBER,
            "entries_per_request": ENTRIES_PER_REQUEST,
            "assigned_share": ASSIGNED_SHARE,
            "overdue_share": OVERDUE_SHARE,
        },
        "target_queue_median_ms": TARGET_MS,
        "sqlite": _backend(None, "sqlite", quick),
        "postgresql": _postgresql(quick),
    }
    sqlite = result["sqlite"]["pages"]["queue_default"]
    result["queue_default_median_ms"] = sqlite["ms"]["median"]
    result["queue_default_statements"] = sqlite["sql"]["statements"]
    result["queue_default_bytes"] = sqlite["bytes"]
    return result


def print_table(result: dict) -> None:
    """One line per page and database: median, p95, bytes, SQL statements."""
    rows = [("support page", "db", "median ms", "p95 ms", "bytes", "SQL", "repeated SQL")]
    for label in ("sqlite", "postgresql"):
        backend = result.get(label) or {}
        for name, page in (backend.get("pages") or {}).items():
            repeated = ", ".join(f"{r['times']}×" for r in page["sql"]["repeated_more_than_twice"])
            rows.append(
                (
                    name,
                    label,
                    f"{page['ms']['median']:.1f}",
                    f"{page['ms']['p95']:.1f}",
                    f"{page['bytes']:,}",
                    str(page["sql"]["statements"]),
                    repeated or "—",
                )
            )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print()
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * w for w in widths))
    skipped = (result.get("postgresql") or {}).get("skipped")
    if skipped:
        print(f"PostgreSQL not measured: {skipped}")


if __name__ == "__main__":
    import json

    out = run(quick=True)
    print_table(out)
    print(json.dumps(out["sqlite"]["queue_default_parts"], indent=2))
