"""Support requests in Chromium (issue 13): a conversation followed live on both sides.

- A viewer, on a phone (390×844), asks for help from a failed node of the live map and
  follows the agent's reply, status moves and resolution on the thread without reload;
  an internal note never reaches their page; the map already open in another tab says
  « Le support du syndicat s’en occupe » as soon as the agent first answers.
- An agent, on a wall screen (1920×1080), triages a realistic queue (filters, « Mes
  demandes », a word only in a comment, sort, page 2, a new request arriving live, the
  overdue one marked), then works a thread while the member's page, in another browser,
  follows live.
- Every support page (both sides, error and empty states, statistics) is axe-core clean
  and never wider than a 390 px phone; screenshots in ``/tmp/support-shots/``.

The conversations run on every configured backend; the markup checks on the first one
(:data:`tests.browser.helpers.first_backend_only`), as the other browser tests do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.helpers import AXE_JS
from tests.browser.helpers import AXE_URL
from tests.browser.helpers import FIRST_BACKEND
from tests.browser.helpers import VIEWPORTS
from tests.browser.helpers import assert_accessible
from tests.browser.helpers import assert_no_horizontal_overflow
from tests.browser.helpers import first_backend_only
from tests.browser.helpers import log_in
from tests.browser.helpers import run_poller
from tests.factories import demo_estate
from tests.factories import make_member
from tests.factories import make_support_request
from tests.factories import make_user
from webapp.extensions import db
from webapp.models import SupportRequest
from webapp.models.member import utcnow
from webapp.services import demo
from webapp.services import overview
from webapp.services import support

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/support-shots")
ROUTER = "sarralbe-routeur"
LIVE = '[data-live-support][data-live-state="live"]'
PHONE = pytest.mark.parametrize("viewport", ["phone"], indirect=True)
WALL = pytest.mark.parametrize("viewport", ["wall"], indirect=True)
WITHIN_MS = 5_000  # a live change reaches the page well within this, without reload


@pytest.fixture
def poller(app):
    """The embedded poller at the default interval: the map's data stays fresh."""
    yield from run_poller(app, 1.0)


@pytest.fixture
def estate(app):
    """The six demo members under their real names."""
    return demo_estate(app.config["DEMO_MEMBERS"])


@pytest.fixture
def shots(request, viewport):
    """``shots(page, name)``: ``/tmp/support-shots/<name>-<viewport>.png`` (first backend)."""
    callspec = getattr(request.node, "callspec", None)
    backend = callspec.params.get("database_url") if callspec else None
    first = backend in (None, FIRST_BACKEND)

    def do(page: Page, name: str) -> None:
        if first:
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(
                path=str(SHOTS / f"{name}-{viewport}.png"),
                full_page=True,
                animations="disabled",
                scale="css",
            )

    return do


@pytest.fixture
def other_browser(browser, live_server, problems, viewport) -> Iterator:
    """``other_browser()``: a page in another, fresh context (another person's browser),
    at the test's viewport, its console errors and page errors reported as the main page's."""
    contexts = []

    def open_page() -> Page:
        context = browser.new_context(
            base_url=live_server, locale="fr-FR", timezone_id="Europe/Paris", **VIEWPORTS[viewport]
        )
        context.set_default_timeout(10_000)
        context.route(
            f"**{AXE_URL}",
            lambda route: route.fulfill(
                path=str(AXE_JS), content_type="text/javascript; charset=utf-8"
            ),
        )
        contexts.append(context)
        return watched(context.new_page(), problems)

    yield open_page
    for context in contexts:
        context.close()


def watched(page: Page, problems) -> Page:
    """Report ``page``'s console errors, uncaught exceptions and error documents."""
    page.on("response", problems.on_response)
    page.on("console", problems.on_console)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    return page


def refreshed(page: Page) -> int:
    """How many times the live support page fetched its parts again."""
    return int(page.get_attribute("[data-live-support]", "data-refreshed") or 0)


def wait_refreshed(page: Page, after: int) -> None:
    """Wait for the live page to have fetched its parts again since ``after`` was read."""
    page.wait_for_function(
        """(after) => Number(document.querySelector('[data-live-support]')
                             .dataset.refreshed || 0) > after""",
        arg=after,
        timeout=WITHIN_MS,
    )


def mark_no_reload(page: Page) -> None:
    """A flag that a reload would lose: checked by :func:`assert_not_reloaded`."""
    page.evaluate("() => { window.__vigieSamePage = true; }")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("() => window.__vigieSamePage === true"), "the page was reloaded"


def fresh(request: SupportRequest) -> SupportRequest:
    """The request as the database has it now (the browser may have changed it)."""
    db.session.expire_all()
    return db.session.get(SupportRequest, request.id)


def behind_router(source, member, skip: tuple[str, ...] = ()) -> tuple[str, object]:
    """The failed router's id and a node it made unreachable (the incident's root is the router)."""
    status = overview.status_of(member)
    router = source.host_by_name(ROUTER).hostid
    node = next(
        n
        for n in status.member_map.nodes
        if n.cause == router and n.state == "unreachable" and n.id not in skip
    )
    return router, node


def map_node(page: Page, hostid: str, kind: str = "narrow") -> str:
    return f'svg[data-map-svg="{kind}"] g.node[data-node="{hostid}"]'


def path_step(hostid: str) -> str:
    """A device of the phone map's first screen: the path to Internet."""
    return f'[data-live-part="path"] [data-path-node="{hostid}"]'


# -- 1. a viewer asks from a failed node and follows the conversation (phone) ------------


@PHONE
def test_a_viewer_asks_from_a_failed_node_and_follows_the_reply_live(
    app, page, problems, viewport, poller, source, shots
):
    member = make_member(
        name="Mairie de Sarralbe", slug="sarralbe", host_groups=["Membres/sarralbe"]
    )
    viewer = make_user("viewer", member=member, name="Claire Martin")
    agent = make_user("support", name="Paul Lemoine")
    demo.fail(ROUTER)
    router, camera = behind_router(source, member)
    log_in(page, viewer.email)

    # A second tab keeps the map open from the start: it must follow on its own.
    watcher = watched(page.context.new_page(), problems)
    watcher.goto("/membres/sarralbe/carte")
    watcher.wait_for_selector('[data-live-map][data-live-state="live"]')
    watcher_summary = watcher.locator("#member-summary")
    expect(watcher_summary).to_contain_text("1 panne en cours")
    assert watcher.locator(path_step(router)).count() == 1
    assert watcher.locator(f"{path_step(router)}[data-care]").count() == 0
    assert "support" not in watcher_summary.inner_text()
    mark_no_reload(watcher)

    # The map, its site's card, a tap on the unreachable device, its panel, the link to support.
    page.goto("/membres/sarralbe/carte")
    page.wait_for_selector('[data-live-map][data-live-state="live"]')
    page.tap(f'[data-site-card="{camera.site}"]')
    page.wait_for_selector('[data-live-map][data-live-state="live"]')
    page.tap(map_node(page, camera.id))
    panel = page.locator(f'#node-detail [data-node-card="{camera.id}"]')
    expect(panel).to_contain_text("Injoignable")
    panel.get_by_role("link", name="Demander de l’aide au support pour cet équipement").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demander de l’aide au support")
    expect(page.get_by_text(f"Équipement concerné : {camera.label}")).to_be_visible()
    expect(page.get_by_label("Catégorie")).to_have_value("outage")  # from a failed node
    page.get_by_label("Objet").fill("Plus rien ne répond à la médiathèque")
    page.get_by_label("Votre demande").fill(
        "Depuis ce matin, la caméra et les postes de la médiathèque ne répondent plus."
    )
    page.get_by_label("Haute").check()
    page.get_by_role("button", name="Envoyer la demande").click()

    page.wait_for_url(re.compile(r"/membres/sarralbe/support/\d+$"))
    db.session.expire_all()
    req = db.session.scalars(select(SupportRequest)).one()
    assert page.url.endswith(f"/membres/sarralbe/support/{req.id}")
    assert (req.urgency, req.category, req.status) == ("high", "outage", "new")
    assert (req.hostid, req.incident_root) == (camera.id, router), "the root cause is the router"
    expect(
        page.get_by_text(f"Votre demande n° {req.id} est envoyée au support du syndicat.")
    ).to_be_visible()
    page.wait_for_selector(LIVE)
    head = page.locator('[data-live-part="head"]')
    thread = page.locator("#fil")
    expect(head).to_contain_text("Nouvelle")
    expect(page.locator('[data-live-part="side"]')).to_contain_text("Injoignable")
    mark_no_reload(page)

    # The open map learns at once that a request covers the incident (marker, sentence).
    watcher.wait_for_selector(f"{path_step(router)}[data-care] .node-care", timeout=WITHIN_MS)
    expect(watcher_summary).to_contain_text(
        "Une demande au support est ouverte depuis", timeout=WITHIN_MS
    )

    # The agent answers (through the service): the viewer's thread shows it without reload.
    support.add_comment(
        req, agent, "Bonjour, nous voyons la panne du routeur : un technicien part."
    )
    expect(thread).to_contain_text("un technicien part", timeout=WITHIN_MS)
    expect(thread).to_contain_text("Paul Lemoine (support du syndicat)")
    # … and the map open in the other tab now says support is on it.
    expect(watcher_summary).to_contain_text(
        re.compile(r"Le support du syndicat s’en occupe depuis \d{1,2} h \d\d"), timeout=WITHIN_MS
    )
    expect(watcher_summary).not_to_contain_text("Une demande au support est ouverte")

    support.change_status(req, agent, "in_progress")
    expect(head.locator(".badge")).to_have_text(re.compile(r"En cours"), timeout=WITHIN_MS)
    expect(thread).to_contain_text("Statut : Nouvelle → En cours.")
    expect(page.locator('[data-live-part="side"]')).to_contain_text("En cours")

    # An internal note never reaches the viewer: wait for the public reply posted after it.
    support.add_comment(req, agent, "Le maire a déjà appelé deux fois ce matin.", internal=True)
    support.add_comment(req, agent, "Le technicien est sur place.")
    expect(thread).to_contain_text("Le technicien est sur place.", timeout=WITHIN_MS)
    assert "appelé deux fois" not in page.content()
    assert "Note interne" not in page.content()
    assert_not_reloaded(page)
    assert_not_reloaded(watcher)
    shots(page, "support-viewer-thread-live")

    # Back on the member's home page: the summary says support is on it.
    page.goto("/membres/sarralbe/")
    expect(page.locator("#member-summary")).to_contain_text(
        re.compile(r"Le support du syndicat s’en occupe depuis \d{1,2} h \d\d")
    )

    # Resolution, followed live on the thread; the rating form comes with it.
    page.goto(f"/membres/sarralbe/support/{req.id}")
    page.wait_for_selector(LIVE)
    mark_no_reload(page)
    support.change_status(
        fresh(req), agent, "resolved", resolution="Routeur redémarré et carte réseau remplacée."
    )
    expect(thread).to_contain_text("Votre demande est résolue.", timeout=WITHIN_MS)
    expect(thread.locator(".banner")).to_contain_text(
        "Routeur redémarré et carte réseau remplacée."
    )
    expect(head.locator(".badge")).to_have_text(re.compile(r"Résolue"))
    expect(page.get_by_role("group", name="La réponse vous a-t-elle aidé ?")).to_be_visible()
    assert "appelé deux fois" not in page.content()
    assert_not_reloaded(page)
    # The request no longer open, the map stops saying support is on it (marker gone).
    watcher.wait_for_selector(
        f"{path_step(router)}:not([data-care])", state="attached", timeout=WITHIN_MS
    )
    expect(watcher_summary).not_to_contain_text("Le support du syndicat")
    shots(page, "support-viewer-thread-resolved")
    problems.check()


# -- 2. an agent triages the queue and works a thread (wall) -----------------------------

THINGS = [
    "Imprimante hors ligne",
    "Wi-Fi lent",
    "Caméra muette",
    "Téléphone coupé",
    "Poste bloqué",
    "Badge refusé",
    "NAS plein",
    "Écran noir",
]
PLACES = ["à l’accueil", "à la médiathèque", "au secrétariat", "en salle du conseil"]
URGENCIES = ["normal", "low", "normal", "high", "critical"]
COMMENT_WORD = "onduleur"  # only ever in one comment: never in a subject or a message


def seed_queue(estate: dict, agent_b) -> dict:
    """32 requests over the six members: 29 open (one overdue), 2 resolved, 1 closed."""
    members = list(estate.values())
    authors = {
        m.slug: make_user("member_admin", member=m, name=f"Secrétariat {m.name}") for m in members
    }
    subjects = [f"{t} {p}" for p in PLACES for t in THINGS]
    made = []
    for n in range(32):
        member = members[n % len(members)]
        req = make_support_request(
            member,
            authors[member.slug],
            subject=subjects[n],
            urgency=URGENCIES[n % 5],
            message=f"Signalé par le secrétariat ({member.name}).",
            category="outage",
        )
        if n % 8 == 1:
            support.assign(req, agent_b, agent_b.id)
            support.change_status(req, agent_b, "in_progress")
        elif n % 8 == 3:
            support.add_comment(req, agent_b, "Pouvez-vous redémarrer l’appareil ?")
            support.change_status(req, agent_b, "waiting_member")
        elif n in (5, 13):
            support.change_status(req, agent_b, "resolved", resolution="Réglé par téléphone.")
        elif n == 21:
            support.change_status(req, agent_b, "closed")
        made.append(req)
    searched = made[10]
    support.add_comment(
        searched,
        authors[searched.member.slug],
        f"L’{COMMENT_WORD} du local technique bipe depuis ce matin.",
    )
    late = made[2]  # new, normal urgency: its first response was due 20 minutes ago
    late.response_due_at = utcnow() - timedelta(minutes=20)
    db.session.commit()
    open_ = [r for r in made if r.status in ("new", "in_progress", "waiting_member")]
    return {"requests": made, "open": open_, "late": late, "searched": searched, "authors": authors}


def caption(page: Page):
    return page.locator(".support-table caption")


def first_row(page: Page):
    return page.locator(".support-table tbody tr").first


def apply_filters(page: Page) -> None:
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_load_state()
    page.wait_for_selector(LIVE)


@WALL
def test_an_agent_triages_the_queue_and_works_a_thread(
    app, page, problems, viewport, estate, other_browser, shots
):
    colleague = make_user("support", name="Brigitte Renaud")
    agent = make_user("support", name="Luc Fontaine")
    seeded = seed_queue(estate, colleague)
    open_, late, searched = seeded["open"], seeded["late"], seeded["searched"]
    assert len(open_) == 29
    log_in(page, agent.email)
    page.goto("/support")
    page.wait_for_selector(LIVE)
    counts = page.locator(".queue-counts")
    expect(counts).to_contain_text("29 demandes ouvertes")
    expect(counts).to_contain_text("1 en retard")
    expect(caption(page)).to_have_text("29 demandes correspondent aux filtres — page 1 sur 2")

    # The overdue one is marked, first by due date.
    late_rows = page.locator(".support-table tr.is-late")
    expect(late_rows).to_have_count(1)
    expect(late_rows).to_contain_text(late.subject)
    expect(late_rows).to_contain_text("En retard : réponse attendue")
    expect(first_row(page)).to_contain_text(late.subject)
    shots(page, "support-agent-queue")

    # By urgency.
    critical = [r for r in open_ if r.urgency == "critical"]
    page.get_by_label("Urgence").select_option("critical")
    apply_filters(page)
    expect(caption(page)).to_have_text(f"{len(critical)} demandes correspondent aux filtres")
    rows = page.locator(".support-table tbody tr")
    expect(rows).to_have_count(len(critical))
    for i in range(len(critical)):
        expect(rows.nth(i)).to_contain_text("Urgence critique")

    # A word only in a comment.
    page.get_by_role("link", name="Effacer les filtres").click()
    page.get_by_label("Rechercher (objet, messages)").fill(COMMENT_WORD)
    apply_filters(page)
    expect(caption(page)).to_have_text("1 demande correspond aux filtres")
    expect(first_row(page)).to_contain_text(searched.subject)

    # Sorted by urgency, then page 2 (the filters kept).
    page.get_by_role("link", name="Effacer les filtres").click()
    page.get_by_label("Trier par").select_option("urgency")
    apply_filters(page)
    expect(first_row(page)).to_contain_text("Urgence critique")
    page.get_by_role("link", name="Page suivante").click()
    page.wait_for_selector(LIVE)
    assert "sort=urgency" in page.url and "page=2" in page.url
    expect(caption(page)).to_have_text("29 demandes correspondent aux filtres — page 2 sur 2")
    expect(page.locator(".support-table tbody tr")).to_have_count(4)
    expect(page.locator(".support-table tbody tr").last).to_contain_text("Urgence basse")

    # Assign one to oneself from its thread, then « Mes demandes ».
    page.goto("/support")
    page.get_by_role("link", name=re.compile(rf"n° {late.id} · ")).click()
    page.wait_for_selector(LIVE)
    # (« Me l’attribuer » unassigns instead: see test_me_l_attribuer_assigns_to_oneself.)
    page.get_by_label("Suivie par").select_option(label="Luc Fontaine")
    page.get_by_role("button", name="Attribuer", exact=True).click()
    expect(page.get_by_text("Demande attribuée.")).to_be_visible()
    expect(page.locator('[data-live-part="side"] .facts')).to_contain_text("Luc Fontaine")
    page.goto("/support")
    page.get_by_label("Suivie par").select_option("me")
    apply_filters(page)
    expect(caption(page)).to_have_text("1 demande correspond aux filtres")
    expect(first_row(page)).to_contain_text(late.subject)
    expect(first_row(page)).to_contain_text("Luc Fontaine")

    # A member opens a request: it comes into the open queue without reload.
    page.get_by_role("link", name="Effacer les filtres").click()
    page.get_by_label("Trier par").select_option("created")
    apply_filters(page)
    mark_no_reload(page)
    bitche = estate["bitche"]
    arrived = make_support_request(
        bitche,
        seeded["authors"]["bitche"],
        urgency="critical",
        subject="Plus de téléphone à l’hôtel de ville",
        message="Aucune ligne ne sonne depuis 9 h.",
    )
    expect(first_row(page)).to_contain_text(arrived.subject, timeout=WITHIN_MS)
    expect(counts).to_contain_text("30 demandes ouvertes")
    expect(caption(page)).to_have_text("30 demandes correspondent aux filtres — page 1 sur 2")
    assert_not_reloaded(page)

    # The member's page, in their own browser, follows the agent's work live.
    target = next(r for r in open_ if r.status == "new" and r not in (late, searched))
    member_slug = target.member.slug
    member_page = other_browser()
    log_in(member_page, seeded["authors"][member_slug].email)
    member_page.goto(f"/membres/{member_slug}/support/{target.id}")
    member_page.wait_for_selector(LIVE)
    mark_no_reload(member_page)
    member_thread = member_page.locator("#fil")
    member_head = member_page.locator('[data-live-part="head"]')

    page.goto(f"/support/{target.id}")
    page.wait_for_selector(LIVE)
    note = "Le contrat de maintenance de ce site expire en juin."
    seen = refreshed(member_page)
    page.get_by_label("Votre message").fill(note)
    page.get_by_label("Note interne (visible du support seulement)").check()
    page.get_by_role("button", name="Envoyer").click()
    expect(page.get_by_text("Note interne ajoutée.")).to_be_visible()
    expect(page.locator("#fil .thread__entry--internal", has_text=note)).to_contain_text(
        "Note interne"
    )
    wait_refreshed(member_page, seen)  # the member's page was told, and fetched its parts
    assert "maintenance de ce site" not in member_page.content()

    page.get_by_role("button", name="Attendre le membre").click()
    expect(page.get_by_text("Statut de la demande : En attente du membre.")).to_be_visible()
    expect(member_head.locator(".badge")).to_have_text(
        re.compile("En attente du membre"), timeout=WITHIN_MS
    )
    expect(member_head).to_contain_text("Délai suspendu pendant l’attente du membre")

    page.get_by_label("Ce qui a été fait (le membre le reçoit tel quel)").fill(
        "Ligne réactivée chez l’opérateur ; testée avec l’accueil."
    )
    page.get_by_role("button", name="Marquer résolue").click()
    expect(page.get_by_text("Statut de la demande : Résolue.")).to_be_visible()
    expect(member_thread).to_contain_text("Votre demande est résolue.", timeout=WITHIN_MS)
    expect(member_thread).to_contain_text(
        "Ligne réactivée chez l’opérateur ; testée avec l’accueil."
    )
    expect(member_head.locator(".badge")).to_have_text(re.compile("Résolue"))
    assert "maintenance de ce site" not in member_page.content()
    assert_not_reloaded(member_page)
    shots(page, "support-agent-thread-resolved")
    shots(member_page, "support-member-thread-resolved-live")
    problems.check()


@WALL
def test_what_the_reader_types_survives_a_live_update(app, page, problems, viewport, other_browser):
    """A live refetch replaces the thread's parts: what is being typed there stays."""
    member = make_member(name="Ville de Bitche", slug="bitche", host_groups=["Membres/bitche"])
    admin = make_user("member_admin", member=member, name="Marc Weber")
    agent = make_user("support", name="Luc Fontaine")
    colleague = make_user("support", name="Brigitte Renaud")
    req = make_support_request(member, admin, subject="Badgeuse du centre technique HS")
    done = make_support_request(member, admin, subject="Wi-Fi lent au centre technique")
    support.change_status(done, agent, "resolved", resolution="Borne redémarrée.")

    # The agent is writing what was done, and has picked a colleague, when the member writes.
    log_in(page, agent.email)
    page.goto(f"/support/{req.id}")
    page.wait_for_selector(LIVE)
    resolution = page.get_by_label("Ce qui a été fait (le membre le reçoit tel quel)")
    resolution.fill("Badgeuse redémarrée, en attente")
    page.get_by_label("Suivie par").select_option(label="Brigitte Renaud")
    resolution.focus()
    seen = refreshed(page)
    support.add_comment(fresh(req), admin, "Elle clignote en rouge maintenant.")
    expect(page.locator("#fil")).to_contain_text("Elle clignote en rouge", timeout=WITHIN_MS)
    wait_refreshed(page, seen)
    expect(resolution).to_have_value("Badgeuse redémarrée, en attente")
    expect(page.get_by_label("Suivie par")).to_have_value(str(colleague.id))
    assert page.evaluate("() => document.activeElement?.id") == "resolution-resolved"

    # The member is writing a word with their opinion when the agent adds a message.
    member_page = other_browser()
    log_in(member_page, admin.email)
    member_page.goto(f"/membres/bitche/support/{done.id}")
    member_page.wait_for_selector(LIVE)
    opinion = member_page.get_by_label("Un mot sur la réponse (facultatif)")
    opinion.fill("Rapide, merci")
    seen = refreshed(member_page)
    support.add_comment(fresh(done), agent, "N’hésitez pas à rouvrir si cela recommence.")
    expect(member_page.locator("#fil")).to_contain_text(
        "rouvrir si cela recommence", timeout=WITHIN_MS
    )
    wait_refreshed(member_page, seen)
    expect(opinion).to_have_value("Rapide, merci")
    problems.check()


@WALL
@first_backend_only
def test_me_l_attribuer_assigns_to_oneself(page, viewport, problems):
    member = make_member(name="Ville de Bitche", slug="bitche", host_groups=["Membres/bitche"])
    req = make_support_request(
        member, make_user("member_admin", member=member), subject="Badgeuse du centre technique HS"
    )
    agent = make_user("support", name="Luc Fontaine")
    log_in(page, agent.email)
    page.goto(f"/support/{req.id}")
    page.wait_for_selector(LIVE)
    page.get_by_role("button", name="Me l’attribuer").click()
    expect(page.locator('[data-live-part="side"] .facts')).to_contain_text("Luc Fontaine")
    assert fresh(req).assignee_id == agent.id
    problems.check()


# -- 3. every support page: axe-core, no overflow at 390 px, screenshots -----------------


def seed_pages(source):
    """Sarralbe with a failed router, a request from the camera behind it (answered, with an
    internal note), a resolved one awaiting the member's opinion, older resolved ones for the
    statistics, and a few requests of other members (one overdue) for the queue."""
    sarralbe = make_member(
        name="Mairie de Sarralbe", slug="sarralbe", host_groups=["Membres/sarralbe"]
    )
    bitche = make_member(name="Ville de Bitche", slug="bitche", host_groups=["Membres/bitche"])
    admin = make_user("member_admin", member=sarralbe, name="Claire Martin")
    agent = make_user("support", name="Paul Lemoine")
    demo.fail(ROUTER)
    router, camera = behind_router(source, sarralbe)
    _, other_camera = behind_router(source, sarralbe, skip=(camera.id,))
    earlier = utcnow() - timedelta(days=40)
    for n, (response_min, resolution_h) in enumerate([(20, 3), (95, 30), (300, 50)]):
        old = support.open_request(
            sarralbe,
            admin,
            support.parse_new(
                {
                    "subject": f"Messagerie indisponible ({n + 1})",
                    "message": "Les courriels n’arrivent plus.",
                    "urgency": "high",
                    "category": "outage",
                }
            ),
            now=earlier + timedelta(days=n),
        )
        start = earlier + timedelta(days=n)
        support.add_comment(
            old, agent, "Nous regardons.", now=start + timedelta(minutes=response_min)
        )
        support.change_status(
            old,
            agent,
            "resolved",
            resolution="Serveur relancé.",
            now=start + timedelta(hours=resolution_h),
        )
        support.rate(old, admin, n != 2, now=start + timedelta(hours=resolution_h + 1))
    live = make_support_request(
        sarralbe,
        admin,
        subject="Plus rien ne répond à la médiathèque",
        urgency="high",
        category="outage",
        hostid=camera.id,
        message="Depuis ce matin, la caméra et les postes de la médiathèque ne répondent plus.",
    )
    support.add_comment(live, agent, "Nous voyons la panne du routeur : un technicien part.")
    support.add_comment(live, agent, "Le maire a déjà appelé deux fois.", internal=True)
    support.change_status(live, agent, "in_progress")
    support.assign(live, agent, agent.id)
    done = make_support_request(
        sarralbe,
        admin,
        subject="Wi-Fi lent en salle du conseil",
        urgency="normal",
        category="slowness",
        message="Les visioconférences coupent sans arrêt.",
    )
    support.change_status(
        done,
        agent,
        "resolved",
        resolution="Borne Wi-Fi déplacée au centre de la salle ; débit vérifié.",
    )
    bitche_admin = make_user("member_admin", member=bitche, name="Marc Weber")
    late = make_support_request(
        bitche,
        bitche_admin,
        subject="Badgeuse du centre technique HS",
        urgency="critical",
        message="Personne ne peut pointer.",
    )
    late.response_due_at = utcnow() - timedelta(minutes=10)
    db.session.commit()
    make_support_request(
        bitche,
        bitche_admin,
        subject="Demande de sonde pour le nouveau NAS",
        urgency="low",
        category="probe",
        message="Un NAS Synology arrive.",
    )
    return {
        "admin": admin,
        "agent": agent,
        "live": live,
        "done": done,
        "late": late,
        "other_camera": other_camera,
    }


def check_page(page: Page, shots, label: str, name: str) -> None:
    assert_no_horizontal_overflow(page, label)
    assert_accessible(page, label)
    shots(page, name)


@first_backend_only
def test_member_support_pages_are_accessible_and_fit(page, viewport, problems, source, shots):
    seeded = seed_pages(source)
    log_in(page, seeded["admin"].email)

    page.goto("/membres/sarralbe/support")
    expect(page.get_by_role("heading", level=1)).to_have_text("Demandes au support")
    expect(page.locator(".request-list")).to_contain_text("Plus rien ne répond à la médiathèque")
    check_page(page, shots, f"demandes du membre ({viewport})", "support-member-list")

    page.goto("/membres/sarralbe/support/nouvelle")
    check_page(page, shots, f"nouvelle demande ({viewport})", "support-new")

    problems.expected_statuses.add(400)  # sent empty: the form comes back with its errors
    page.get_by_role("button", name="Envoyer la demande").click()
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.get_by_text("Ce champ est obligatoire.").first).to_be_visible()
    check_page(page, shots, f"nouvelle demande, erreurs ({viewport})", "support-new-errors")

    page.goto(f"/membres/sarralbe/support/nouvelle?equipement={seeded['other_camera'].id}")
    expect(page.get_by_text("Une demande est déjà ouverte pour cette panne.")).to_be_visible()
    check_page(
        page, shots, f"nouvelle demande, même panne ({viewport})", "support-new-same-incident"
    )

    page.goto(f"/membres/sarralbe/support/{seeded['live'].id}")
    page.wait_for_selector(LIVE)
    expect(page.locator("#fil")).to_contain_text("un technicien part")
    assert "appelé deux fois" not in page.content()
    check_page(page, shots, f"fil côté membre ({viewport})", "support-member-thread")

    page.goto(f"/membres/sarralbe/support/{seeded['done'].id}")
    page.wait_for_selector(LIVE)
    expect(page.get_by_text("Votre demande est résolue.")).to_be_visible()
    expect(page.get_by_role("group", name="La réponse vous a-t-elle aidé ?")).to_be_visible()
    check_page(page, shots, f"fil résolu, avis ({viewport})", "support-member-thread-rating")

    page.goto("/membres/sarralbe/support/statistiques")
    expect(page.get_by_role("heading", level=1)).to_have_text("Délais du support")
    expect(page.get_by_role("heading", name="Mois par mois")).to_be_visible()
    check_page(page, shots, f"délais du membre ({viewport})", "support-member-stats")
    problems.check()


@first_backend_only
def test_staff_support_pages_are_accessible_and_fit(page, viewport, problems, source, shots):
    seeded = seed_pages(source)
    log_in(page, seeded["agent"].email)

    page.goto("/support")
    page.wait_for_selector(LIVE)
    expect(page.locator(".support-table tr.is-late")).to_contain_text("En retard")
    check_page(page, shots, f"file du support ({viewport})", "support-queue")

    page.goto("/support?q=aucune-demande-ne-dit-cela&urgency=critical")
    page.wait_for_selector(LIVE)
    expect(page.get_by_text("Aucune demande ne correspond aux filtres.")).to_be_visible()
    check_page(page, shots, f"file, aucun résultat ({viewport})", "support-queue-empty")

    page.goto("/support/nouvelle?membre=sarralbe")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ouvrir une demande pour un membre")
    check_page(page, shots, f"demande pour un membre ({viewport})", "support-staff-new")

    page.goto(f"/support/{seeded['live'].id}")
    page.wait_for_selector(LIVE)
    expect(page.locator("#fil .thread__entry--internal").first).to_contain_text("appelé deux fois")
    check_page(page, shots, f"fil côté support ({viewport})", "support-staff-thread")

    page.goto("/support/statistiques")
    expect(page.get_by_role("heading", name="Membre par membre")).to_be_visible()
    check_page(page, shots, f"délais du support ({viewport})", "support-staff-stats")
    problems.check()
