"""Every live view tells the truth (issue 9): what a page shows equals what the API says.

For each live view — the map (heading counts, summary, list, SVG, node panel), the
member home, the member cards, the wall's tiles, its member panel and the kiosk's
member page — a router failure and its repair are followed, without reload, within
two poll intervals, by every count and sentence shown: each is compared with
``GET /api/v1/members/<slug>/map`` read at the same moment. Also: one vocabulary (a
warning is never « en panne »), one clock (a device in New York reads the same times
as one in Metz), and the member panel's freshness follows the portal's one rule.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.browser.helpers import log_in
from tests.browser.helpers import run_poller
from tests.conftest import BACKENDS
from tests.conftest import backend_of
from tests.factories import demo_estate
from tests.factories import make_member
from tests.factories import make_user
from webapp.services import demo
from webapp.services import kiosk

pytestmark = pytest.mark.browser

POLL_S = 1.0  # the default poll interval (webapp.config.BaseConfig)
WITHIN_MS = 2 * POLL_S * 1000  # "within 2 poll intervals", without reload
# The stale banner: the portal's rule is VIGIE_STALE_AFTER_POLLS (2) × the interval since the
# last successful read, which was before the outage began; 0.5 s for the browser to draw it.
STALE_WITHIN_MS = 2 * POLL_S * 1000 + 500
ROUTER = "sarralbe-routeur"
NAS = "sarralbe-sw-0-1-nas-2"
PARIS = ZoneInfo("Europe/Paris")  # VIGIE_TIMEZONE's default

# What a page shows, read the way a person reads it (glyphs are aria-hidden decoration).
SHOWN = """([root, expected]) => {
  const clean = (el) => {
    if (!el) return null;
    const copy = el.cloneNode(true);
    copy.querySelectorAll('[aria-hidden="true"]').forEach((g) => g.remove());
    return copy.textContent.replace(/\\s+/g, " ").trim();
  };
  const all = (selector) => [...document.querySelectorAll(selector)].map(clean);
  const visible = (el) => el && el.getClientRects().length > 0;
  const svg = [...document.querySelectorAll("svg[data-map-svg]")].find(visible);
  // Each drawn device's state; a folded device reads as its group's state when that is
  // the worst of what the group holds (so a right group reads as the API's states).
  const stateOf = (g) => [...g.classList].find((c) => c.startsWith("node--")
    && !["node--changed", "node--group", "node--link"].includes(c)).slice(6);
  const WORST = ["problem", "unreachable", "warning", "unknown", "maintenance", "ok"];
  let nodes = null;
  if (svg) {
    const drawn = [...svg.querySelectorAll("g.node")].filter((g) => g.dataset.node !== root);
    const entries = drawn.filter((g) => !g.dataset.group).map((g) => [g.dataset.node, stateOf(g)]);
    const own = new Set(entries.map(([id]) => id));
    for (const g of drawn.filter((g) => g.dataset.group)) {
      const folded = g.dataset.members.split(" ").filter((m) => !own.has(m));
      const worst = WORST.find((w) => folded.some((m) => expected[m] === w)) || "ok";
      const right = worst === stateOf(g);
      for (const m of folded) entries.push([m, right ? expected[m] : `group:${stateOf(g)}`]);
    }
    nodes = Object.fromEntries(entries.sort());
  }
  const rows = Object.fromEntries([...document.querySelectorAll("tr[data-node]")].map(
    (row) => [row.dataset.node, row.dataset.state]).sort());
  // The wall's member panel: each problem's path (every step's state as read) and the
  // devices unreachable behind it; each affected site's worst state.
  const paths = Object.fromEntries([...document.querySelectorAll("[data-wall-path]")].map(
    (p) => [p.dataset.wallPath, {
      steps: [...p.querySelectorAll("[data-node]")].map(
        (step) => [step.dataset.node, clean(step.querySelector(".wall-step__state"))]),
      behind: Number((clean(p.querySelector(".wall-path__behind")) || "0").match(/\\d+/)[0]),
    }]).sort());
  const affected = Object.fromEntries([...document.querySelectorAll("[data-wall-site]")].map(
    (li) => [li.dataset.wallSite,
      [...li.classList].find((c) => c.startsWith("wall-site--")).slice(11)]).sort());
  const panel = document.querySelector("#node-detail [data-node-card]");
  const counts = document.querySelector(".map__counts");
  const sites = Object.fromEntries([...document.querySelectorAll("[data-site-card]")].map(
    (a) => [a.dataset.siteCard,
      [...a.classList].find((c) => c.startsWith("site-card--")).slice(11)]));
  return {
    headline: clean(document.querySelector(".summary__headline, .wall-map__state")),
    sentences: all(".summary__sentences li, .wall-map__sentences li"),
    counts: counts ? clean(counts).replace(/^– /, "") : null,
    equipment: clean(document.querySelector("#equipment-title")),
    rows,
    nodes,
    sites,
    paths,
    affected,
    panel: panel ? { id: panel.dataset.nodeCard, state: clean(panel.querySelector(".badge")) }
      : null,
  };
}"""

STATE_LABELS = {
    "ok": "Fonctionne",
    "warning": "Alerte",
    "problem": "En panne",
    "unreachable": "Injoignable",
    "maintenance": "En maintenance",
    "unknown": "État inconnu",
}


@pytest.fixture
def poller(app):
    """The embedded poller at the default interval, while the test runs."""
    yield from run_poller(app, POLL_S)


@pytest.fixture
def estate(app):
    """The six demo members under their real names."""
    return demo_estate(app.config["DEMO_MEMBERS"])


def api_map(page, slug="sarralbe", reader=None) -> dict:
    """The API's answer, read with the page's session (or ``reader``: a signed-in client)."""
    if reader is not None:
        response = reader.get(f"/api/v1/members/{slug}/map")
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.json
    response = page.request.get(f"/api/v1/members/{slug}/map")
    assert response.ok, response.text()
    return response.json()


def expected_of(data: dict) -> dict:
    """What every view must show, from the API's answer."""
    nodes = dict(sorted((n["id"], n["state"]) for n in data["nodes"] if n["id"] != data["root"]))
    order = ["problem", "unreachable", "warning", "unknown", "maintenance", "ok"]
    by_site: dict[str, set] = {}
    for n in data["nodes"]:
        if n["id"] != data["root"] and n["id"] not in data.get("band", ()):
            by_site.setdefault(n["site"] or "_", set()).add(n["state"])
    sites = {
        site: next(state for state in order if state in states or state == "ok")
        for site, states in sorted(by_site.items())
    }
    # The wall's member panel: a path from the root to each failing or warning device
    # (the incidents), with the devices unreachable because of it; the sites not all fine.
    parent = {edge["to"]: edge["from"] for edge in data["edges"]}
    state = {n["id"]: n["state"] for n in data["nodes"]}
    paths = {}
    for n in data["nodes"]:
        if n["state"] in ("problem", "warning"):
            chain = [n["id"]]
            while chain[-1] in parent:
                chain.append(parent[chain[-1]])
            paths[n["id"]] = {
                "steps": [[i, STATE_LABELS[state[i]]] for i in reversed(chain)],
                "behind": sum(
                    1
                    for m in data["nodes"]
                    if m["state"] == "unreachable" and m["cause"] == n["id"]
                ),
            }
    site_states: dict[str, set] = {}
    for n in data["nodes"]:
        if n["id"] != data["root"]:
            site_states.setdefault(n["site"] or "_", set()).add(n["state"])
    affected = {
        site: worst
        for site, states in sorted(site_states.items())
        if (worst := next(s for s in order if s in states or s == "ok")) != "ok"
    }
    return {
        "headline": data["summary"]["headline"],
        "sentences": data["summary"]["sentences"],
        "counts": data["summary"]["state_counts"],
        "equipment": f"Équipements ({len(nodes)})",
        "rows": nodes,
        "nodes": nodes,
        "sites": sites,
        "paths": dict(sorted(paths.items())),
        "affected": affected,
    }


def wait_until_shown(page, keys: list[str], slug="sarralbe", panel=None, reader=None):
    """Wait (two poll intervals at most) until the page shows what the API says now."""
    data = api_map(page, slug, reader)
    expected = expected_of(data)
    wanted = {key: expected[key] for key in keys if key != "nodes"}
    if "nodes" in keys:
        wanted["nodes"] = expected["nodes"]
    if panel is not None:
        wanted["panel"] = {"id": panel, "state": STATE_LABELS[expected["nodes"][panel]]}
    try:
        page.wait_for_function(
            f"""([wanted, root]) => {{
                const shown = ({SHOWN})([root, wanted.all]);
                return Object.entries(wanted).filter(([key]) => key !== "all").every(
                    ([key, value]) => JSON.stringify(shown[key]) === JSON.stringify(value));
            }}""",
            arg=[{**wanted, "all": expected["nodes"]}, data["root"]],
            timeout=WITHIN_MS,
        )
    except Exception:  # say what differs, not only that it timed out
        shown = page.evaluate(SHOWN, [data["root"], expected["nodes"]])
        differ = {k: (shown.get(k), v) for k, v in wanted.items() if shown.get(k) != v}
        pytest.fail(f"after {WITHIN_MS:.0f} ms, shown ≠ API: {differ}")
    return expected


def router_id(source) -> str:
    return source.host_by_name(ROUTER).hostid


MAP_KEYS = ["headline", "sentences", "counts", "sites"]
WALL_KEYS = ["headline", "sentences", "paths", "affected"]  # the wall's member panel


def test_map_follows_every_update(app, page, problems, viewport, poller, source, shoot):
    """Heading counts, summary, site cards, the drawing (folds included) and the open node
    panel, after fail and repair; on a phone, the site's page the same way."""
    member = make_member(
        name="Mairie de Sarralbe", slug="sarralbe", host_groups=["Membres/sarralbe"]
    )
    log_in(page, make_user("viewer", member=member).email)
    page.goto("/membres/sarralbe/carte")
    page.wait_for_selector('[data-live-map][data-live-state="live"]')
    router = router_id(source)
    keys = MAP_KEYS + (["nodes"] if viewport != "phone" else [])
    if viewport != "phone":
        page.click(f'svg[data-map-svg="wide"] g.node[data-node="{router}"]')
        page.wait_for_selector(f'#node-detail [data-node-card="{router}"]')
    before = wait_until_shown(page, keys, panel=router if viewport != "phone" else None)
    assert before["headline"] == "Tout fonctionne normalement"

    demo.fail(ROUTER)
    after = wait_until_shown(page, keys, panel=router if viewport != "phone" else None)
    assert after["headline"] == "1 panne en cours"
    assert re.search(r"\d+ équipements derrière sont injoignables", after["sentences"][0])
    assert "1 en panne" in after["counts"] and "injoignables" in after["counts"]
    shoot(page, "truth-map-failure")
    if viewport == "phone":  # the site's own map, its list and a node's bottom sheet
        switch = source.host_by_name("sarralbe-sw-0-1").hostid
        page.click('[data-site-card="Mairie"]')
        page.wait_for_selector('[data-live-map][data-live-state="live"]')
        page.click(f'svg[data-map-svg="narrow"] g.node[data-node="{switch}"]')
        page.wait_for_selector(f'#node-detail [data-node-card="{switch}"]')
        wait_until_site_shown(page, switch)

    demo.repair(ROUTER)
    if viewport == "phone":
        wait_until_site_shown(page, switch)
        page.goto("/membres/sarralbe/carte")
    repaired = wait_until_shown(page, keys, panel=router if viewport != "phone" else None)
    assert repaired["headline"] == "Tout fonctionne normalement"
    assert repaired["counts"] == before["counts"]
    problems.check()


def wait_until_site_shown(page, panel: str, slug="sarralbe"):
    """A site page: every drawn device (folds included), the list's rows and the open
    panel read what the API says now."""
    data = api_map(page, slug)
    expected = expected_of(data)
    try:
        page.wait_for_function(
            f"""([root, all, panel, labels]) => {{
                const shown = ({SHOWN})([root, all]);
                const nodes = Object.entries(shown.nodes || {{}});
                const rows = Object.entries(shown.rows);
                return nodes.length > 5 && nodes.every(([id, state]) => all[id] === state)
                    && rows.length > 5 && rows.every(([id, state]) => all[id] === state)
                    && shown.panel && shown.panel.id === panel
                    && shown.panel.state === labels[all[panel]];
            }}""",
            arg=[data["root"], expected["nodes"], panel, STATE_LABELS],
            timeout=WITHIN_MS,
        )
    except Exception:
        shown = page.evaluate(SHOWN, [data["root"], expected["nodes"]])
        pytest.fail(f"after {WITHIN_MS:.0f} ms, site page ≠ API: {shown}, expected {expected}")


def test_member_home_follows_every_update(app, page, problems, viewport, poller, source):
    member = make_member(
        name="Mairie de Sarralbe", slug="sarralbe", host_groups=["Membres/sarralbe"]
    )
    log_in(page, make_user("viewer", member=member).email)
    page.goto("/membres/sarralbe/")
    page.wait_for_selector('[data-live-map][data-live-state="live"]')
    keys = ["headline", "sentences", "equipment", "rows"]
    wait_until_shown(page, keys)
    demo.fail(ROUTER)
    assert wait_until_shown(page, keys)["headline"] == "1 panne en cours"
    demo.repair(ROUTER)
    assert wait_until_shown(page, keys)["headline"] == "Tout fonctionne normalement"
    problems.check()


CARDS = """() => Object.fromEntries([...document.querySelectorAll("[data-member-card]")].map(
  (card) => [card.dataset.memberCard, {
    state: card.dataset.state,
    badge: card.querySelector(".badge").textContent.replace(/\\s+/g, " ").replace(/^\\S+ /, ""),
    headline: card.querySelector(".member-card__headline").textContent.trim(),
  }]))"""


def wait_cards(page, slugs):
    wanted = {}
    for slug in slugs:
        data = page.request.get(f"/api/v1/members/{slug}").json()
        wanted[slug] = {
            "state": data["state"],
            "badge": STATE_LABELS[data["state"]],
            "headline": data["summary"]["headline"],
        }
    try:
        page.wait_for_function(
            f"""(wanted) => {{
                const shown = ({CARDS})();
                return Object.entries(wanted).filter(([key]) => key !== "all").every(
                    ([slug, v]) => JSON.stringify(shown[slug]) === JSON.stringify(v));
            }}""",
            arg=wanted,
            timeout=WITHIN_MS,
        )
    except Exception:
        pytest.fail(f"cards ≠ API: shown {page.evaluate(CARDS)}, API {wanted}")
    return wanted


def test_member_cards_follow_every_update(app, page, problems, viewport, poller, estate):
    log_in(page, make_user("support").email)
    page.goto("/")
    page.wait_for_selector('[data-live-cards][data-live-state="live"]')
    wait_cards(page, ["sarralbe", "bitche"])
    demo.fail(ROUTER)
    assert wait_cards(page, ["sarralbe", "bitche"])["sarralbe"]["state"] == "problem"
    demo.repair(ROUTER)
    assert wait_cards(page, ["sarralbe", "bitche"])["sarralbe"]["state"] == "ok"
    problems.check()


TILE = """(slug) => {
  const tile = document.querySelector(`[data-tile][data-slug="${slug}"]`);
  return { state: tile.dataset.state,
           label: tile.querySelector("[data-tile-label]").textContent,
           incidents: tile.querySelector("[data-tile-incidents]").textContent };
}"""


def wait_tile(page, slug="sarralbe"):
    data = page.request.get(f"/api/v1/members/{slug}").json()
    n = len(data["summary"]["incidents"])
    wanted = {
        "state": data["state"],
        "label": STATE_LABELS[data["state"]],
        "incidents": "Aucun incident" if n == 0 else f"{n} incident" + ("s" if n > 1 else ""),
    }
    try:
        page.wait_for_function(
            f"""([slug, wanted]) => JSON.stringify(({TILE})(slug)) === JSON.stringify(wanted)""",
            arg=[slug, wanted],
            timeout=WITHIN_MS,
        )
    except Exception:
        pytest.fail(f"tile ≠ API: shown {page.evaluate(TILE, slug)}, API {wanted}")
    return wanted


@pytest.mark.parametrize("viewport", ["wall"], indirect=True)
def test_wall_tiles_and_member_panel_follow_every_update(
    app, page, problems, viewport, poller, estate, source, shoot
):
    log_in(page, make_user("support").email)
    page.goto("/mur")
    page.wait_for_selector('[data-wall][data-live-state="live"]')
    wait_tile(page)
    demo.fail(ROUTER)
    assert wait_tile(page)["state"] == "problem"
    # A new high-severity problem pins the member: its panel shows the same as the API.
    page.wait_for_selector('[data-wall-panel] [data-wall-member="sarralbe"]', timeout=WITHIN_MS)
    after = wait_until_shown(page, WALL_KEYS)
    assert after["headline"] == "1 panne en cours"
    shoot(page, "truth-wall-panel")
    # A second failure under the same router changes no tile state: the panel follows.
    demo.fail("sarralbe-sw-0-1")
    wait_until_shown(page, WALL_KEYS)
    demo.repair("sarralbe-sw-0-1")
    demo.repair(ROUTER)
    assert wait_tile(page)["state"] == "ok"
    problems.check()


@pytest.mark.parametrize("viewport", ["wall"], indirect=True)
def test_kiosk_member_page_is_live_and_fresh(
    app, page, problems, viewport, poller, estate, client, login, database_url
):
    """/mur/membres/<slug> on a TV: live over the websocket, one freshness rule.

    The minute's watch runs once, on the last backend of the run (PostgreSQL, production's,
    in ``make test``); every backend goes through the live and stale transitions."""
    login(make_user("support"))  # the test's own reader of the API (a kiosk has none)
    clear, _link = kiosk.create("Télévision du support", make_user("admin"))
    page.goto(f"/mur/kiosque/{clear}")
    page.wait_for_url("**/mur?kiosque=1")
    page.goto("/mur/membres/sarralbe")
    root = "[data-wall-member-page]"
    page.wait_for_selector(f'{root}[data-live-state="live"][data-fresh="fresh"]')
    # Watched over a minute with a healthy source: never a stale banner, never a reload.
    page.evaluate("""() => {
        window.__staleSeen = false;
        window.__reloaded = false;
        const banner = document.querySelector("[data-wall-stale]");
        new MutationObserver(() => { if (!banner.hidden) window.__staleSeen = true; })
          .observe(banner, { attributes: true });
        window.addEventListener("beforeunload", () => { window.__reloaded = true; });
    }""")
    if backend_of(database_url) == BACKENDS[-1]:
        started = time.monotonic()
        page.wait_for_timeout(60_000)  # the watch itself: a minute of a healthy source
        assert time.monotonic() - started >= 60
    assert page.evaluate("() => window.__staleSeen") is False, "false stale alarm"
    assert page.get_attribute(root, "data-fresh") == "fresh"
    assert page.inner_text("[data-wall-age]") == "Données à jour"
    # Live: a router failure reaches the page without reload, within two poll intervals.
    demo.fail(ROUTER)
    after = wait_until_shown(page, WALL_KEYS, reader=client)
    assert after["headline"] == "1 panne en cours"
    assert page.evaluate("() => window.__reloaded") is False
    # The source stops: stale within two poll intervals; the connection is still up.
    demo.set_outage(True)
    page.wait_for_selector(f'{root}[data-fresh="stale"]', timeout=STALE_WITHIN_MS)
    assert page.locator("[data-wall-stale]").is_visible()
    assert page.inner_text("[data-wall-status]") == "Connecté à Vigie"
    assert page.get_attribute(root, "data-live-state") == "live"
    demo.set_outage(False)
    page.wait_for_selector(f'{root}[data-fresh="fresh"]', timeout=STALE_WITHIN_MS)
    assert page.locator("[data-wall-stale]").is_hidden()
    demo.repair(ROUTER)
    wait_until_shown(page, WALL_KEYS, reader=client)
    problems.check()


VISIBLE_TEXT = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll(".legend, [hidden], .visually-hidden:not([data-live-announce]), script")
    .forEach((el) => el.remove());
  return copy.textContent.replace(/\\s+/g, " ");
}"""


@pytest.mark.parametrize("path", ["/membres/sarralbe/", "/membres/sarralbe/carte"])
def test_a_warning_is_never_a_failure(app, page, problems, viewport, poller, source, path):
    """A NAS at 92 % warns: « alerte » everywhere, « en panne » nowhere."""
    member = make_member(
        name="Mairie de Sarralbe", slug="sarralbe", host_groups=["Membres/sarralbe"]
    )
    log_in(page, make_user("viewer", member=member).email)
    page.goto(path)
    page.wait_for_selector('[data-live-map][data-live-state="live"]')
    demo.warn(NAS)
    on_map = path.endswith("carte")
    keys = (
        ["headline", "sites"] + (["nodes"] if viewport != "phone" else [])
        if on_map
        else ["headline", "rows"]
    )
    expected = wait_until_shown(page, keys)
    assert expected["headline"] == "1 alerte"
    nas = source.host_by_name(NAS).hostid
    assert expected["rows"][nas] == "warning"
    assert expected["sites"]["Mairie"] == "warning"
    # Announced politely: the device by name where it is on screen, else the new headline.
    page.wait_for_function(
        "(text) => document.querySelector('[data-live-announce]').textContent"
        ".toLowerCase().includes(text)",
        arg="alerte",
    )
    text = page.evaluate(VISIBLE_TEXT)
    assert "en panne" not in text.lower(), text
    if path.endswith("carte"):
        assert "1 en alerte" in page.inner_text(".map__counts")
    api = page.request.get("/api/v1/members/sarralbe").json()
    assert api["state"] == "warning"
    problems.check()


@pytest.mark.parametrize("viewport", ["wall"], indirect=True)
def test_a_warning_on_the_wall_is_an_alert(app, page, problems, viewport, poller, estate):
    log_in(page, make_user("support").email)
    page.goto("/mur")
    page.wait_for_selector('[data-wall][data-live-state="live"]')
    demo.warn(NAS)
    assert wait_tile(page)["label"] == "Alerte"
    text = page.evaluate(VISIBLE_TEXT)
    assert "en panne" not in text.lower()
    problems.check()


TIMES = """() => ({
  sentence: document.querySelector(".summary__sentences li")?.textContent.trim() ?? null,
  since: document.querySelector('[data-tile][data-slug="sarralbe"] [data-tile-since]')
    ?.textContent ?? null,
  stale: document.querySelector("[data-stale-text], [data-wall-stale-text]")?.textContent ?? null,
})"""


def french_time(moment: datetime) -> str:
    """« 20 h 09 », written independently of webapp.presenters.clock."""
    return f"{moment.hour} h {moment.minute:02d}"


def test_every_device_reads_the_same_clock(app, browser, live_server, problems, poller, estate):
    """A browser in New York sees the times a browser in Metz sees (VIGIE_TIMEZONE)."""
    staff = make_user("support")
    demo.fail(ROUTER)
    seen = {}
    for zone in ("Europe/Paris", "America/New_York"):
        context = browser.new_context(base_url=live_server, locale="fr-FR", timezone_id=zone)
        try:
            page = context.new_page()
            page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
            log_in(page, staff.email)
            page.goto("/membres/sarralbe/carte")
            page.wait_for_selector('[data-live-map][data-live-state="live"]')
            map_times = page.evaluate(TIMES)
            page.goto("/mur")
            page.wait_for_selector('[data-wall][data-live-state="live"]')
            # The last successful read is within a poll interval before the outage began.
            window_start = datetime.now(PARIS) - timedelta(seconds=2 * POLL_S)
            demo.set_outage(True)
            page.wait_for_selector("[data-wall-stale]", state="visible", timeout=STALE_WITHIN_MS)
            wall_times = page.evaluate(TIMES)
            window_end = datetime.now(PARIS)
            demo.set_outage(False)
            page.wait_for_selector("[data-wall-stale]", state="hidden", timeout=STALE_WITHIN_MS)
            seen[zone] = (map_times["sentence"], wall_times["since"])
            # Each outage began at its own moment (maybe across a minute's turn): the stale
            # time is the Paris time of the last read, whatever the browser's zone.
            assert wall_times["stale"] in {
                f"Données non actualisées depuis {french_time(window_start)}",
                f"Données non actualisées depuis {french_time(window_end)}",
            }, (zone, wall_times["stale"], window_start, window_end)
        finally:
            context.close()
    paris, new_york = seen["Europe/Paris"], seen["America/New_York"]
    assert paris == new_york
    sentence, since = paris
    assert re.search(r"depuis \d{1,2} h \d\d", sentence)
    assert re.fullmatch(r"depuis \d{1,2} h \d\d", since)
    problems.check()
