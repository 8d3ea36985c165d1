"""The support wall in Chromium at 1920×1080: live tiles, pinning, kiosk, axe, memory.

The browser conftest's ``live_server`` (werkzeug, threaded) carries Socket.IO's
websocket transport (simple-websocket, threading mode), as the live map tests
show; the ``poller`` fixture runs the embedded poller fast beside it.
"""

from __future__ import annotations

import re
import time

import pytest

from bench.stack import wait_until
from tests.browser.helpers import assert_accessible
from tests.browser.helpers import log_in
from tests.browser.helpers import run_poller
from tests.browser.helpers import socket_events
from tests.browser.helpers import wait_socket_event
from tests.factories import demo_estate
from tests.factories import make_support_request
from tests.factories import make_user
from webapp.live import events
from webapp.services import demo
from webapp.services import kiosk

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("viewport", ["wall"], indirect=True)]

POLL_S = 0.2


@pytest.fixture
def poller(app):
    """The embedded poller, fast: a cycle every 0.2 s while the test runs."""
    sent: list[tuple[str, dict, str | None]] = []

    def publish(event: str, data: dict, room: str | None = None) -> None:
        events.publish(event, data, room)
        sent.append((event, data, room))

    for poller in run_poller(app, POLL_S, publish=publish):
        poller.sent = sent  # what it published, for tests waiting on it
        yield poller


@pytest.fixture
def estate(app):
    """The six demo members under their real names, two open support requests."""
    members = demo_estate(app.config["DEMO_MEMBERS"])
    author = make_user("viewer", member=members["bitche"])
    make_support_request(members["bitche"], author, subject="Imprimante", message="Bourrage")
    make_support_request(members["bitche"], author, subject="Wi-Fi", message="Lent")
    return members


def open_wall(page, path="/mur"):
    page.goto(path)
    page.wait_for_selector('[data-wall][data-live-state="live"]')


def tile_order(page) -> list[str]:
    return page.eval_on_selector_all("[data-tile]", "tiles => tiles.map(t => t.dataset.slug)")


def wait_tile_state(page, slug, state, timeout=15000):
    page.wait_for_function(
        """([slug, state]) => {
            const tile = document.querySelector(`[data-tile][data-slug="${slug}"]`);
            return tile && tile.dataset.state === state; }""",
        arg=[slug, state],
        timeout=timeout,
    )


def test_failure_turns_the_tile_red_pins_the_member_until_acknowledged(
    app, page, problems, poller, estate, shoot
):
    staff = make_user("support")
    log_in(page, staff.email)
    open_wall(page)
    page.evaluate("window.__sameDocument = true")
    names = page.eval_on_selector_all("[data-tile]", "ts => ts.map(t => t.dataset.name)")
    assert names == sorted(names), "all fine: by name"
    title = page.locator("[data-tile] .tile__name").first
    assert float(title.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 28
    grid = page.locator("[data-wall-list]").bounding_box()
    assert grid["height"] > 700 and grid["width"] > 1800, "the tiles fill the screen"
    shoot(page, "wall-calm")
    assert_accessible(page, "the wall (dark theme)")

    demo.fail("sarralbe-routeur")
    wait_tile_state(page, "sarralbe", "problem")
    assert tile_order(page)[0] == "sarralbe", "worst first, re-sorted in place"
    tile = page.locator('[data-tile][data-slug="sarralbe"]')
    assert "tile--problem" in tile.get_attribute("class")
    assert "En panne" in tile.inner_text() and "1 incident" in tile.inner_text()
    pin = page.locator("[data-wall-pin]")
    pin.wait_for(state="visible", timeout=5000)
    assert pin.get_attribute("role") == "alert"
    assert "Nouveau problème non acquitté : Mairie de Sarralbe" in pin.inner_text()
    page.wait_for_selector('[data-wall-panel] [data-wall-member="sarralbe"] [data-wall-path]')
    assert page.evaluate("window.__sameDocument") is True, "no reload"
    shoot(page, "wall-pinned")
    assert_accessible(page, "the wall with a pinned member")

    # Rotation is paused while pinned: the panel stays on the pinned member.
    page.click("[data-wall-rotate]")
    time.sleep(0.5)
    assert page.locator('[data-wall-panel] [data-wall-member="sarralbe"]').count() == 1

    # Support acknowledges it from the member's map, in another tab.
    other = page.context.new_page()
    router = demo._source().host_by_name("sarralbe-routeur")
    other.goto(f"/membres/sarralbe/equipements/{router.hostid}")
    other.get_by_role("button", name="Acquitter").first.click()
    other.wait_for_selector("text=Problème acquitté.")
    other.close()
    pin.wait_for(state="hidden", timeout=5000)
    assert page.locator('[data-tile][data-slug="sarralbe"] [data-tile-unacked]').is_hidden()
    assert tile.get_attribute("data-state") == "problem", "acknowledged, not repaired"
    # Unpinned: rotation (switched on meanwhile) resumes with the next member.
    page.wait_for_function(
        """() => { const m = document.querySelector('[data-wall-panel] [data-wall-member]');
                   return m && m.dataset.wallMember !== 'sarralbe'; }""",
        timeout=5000,
    )
    assert page.evaluate("window.__sameDocument") is True
    demo.repair("sarralbe-routeur")
    wait_tile_state(page, "sarralbe", "ok")
    problems.check()


def test_rotation_goes_through_member_maps_and_pauses(app, page, problems, poller, estate):
    app.config["WALL_ROTATE_SECONDS"] = 2
    log_in(page, make_user("admin").email)
    page.evaluate("localStorage.removeItem('vigie-wall-rotation')")
    open_wall(page)
    panel = page.locator("[data-wall-panel]")
    assert panel.is_hidden()
    rotate = page.locator("[data-wall-rotate]")
    rotate.click()
    assert rotate.get_attribute("aria-pressed") == "true"
    shown = page.locator("[data-wall-panel] [data-wall-member]")
    shown.wait_for()
    first = shown.get_attribute("data-wall-member")
    assert first == tile_order(page)[0]
    page.wait_for_function(
        """(first) => document.querySelector('[data-wall-panel] [data-wall-member]')
                      ?.dataset.wallMember !== first""",
        arg=first,
        timeout=4000,
    )
    # Pause (RGAA 13.8): nothing moves any more.
    pause = page.locator("[data-wall-pause]")
    pause.click()
    assert pause.get_attribute("aria-pressed") == "true"
    assert page.get_attribute("[data-wall]", "data-live-state") == "paused"
    held = shown.get_attribute("data-wall-member")
    paused_at = time.monotonic()
    seen = socket_events(page)
    demo.fail("bitche-routeur")
    # The paused wall is told (the failure reaches it) and longer than a rotation period
    # (2 s) has passed since the pause: a rotation timer would have fired by now.
    wait_socket_event(
        page,
        "wall.update",
        "data.tiles.some((t) => t.slug === 'bitche' && t.overall !== 'ok')",
        seen,
    )
    page.wait_for_timeout(max(0.0, 2.6 - (time.monotonic() - paused_at)) * 1000)
    assert shown.get_attribute("data-wall-member") == held
    assert page.get_attribute('[data-tile][data-slug="bitche"]', "data-state") == "ok"
    assert page.locator("[data-wall-pin]").is_hidden()
    pause.click()
    wait_tile_state(page, "bitche", "problem")  # caught up on resume, then pinned
    page.locator("[data-wall-pin]").wait_for(state="visible")
    rotate.click()
    assert rotate.get_attribute("aria-pressed") == "false"
    problems.check()


def test_silent_source_brings_the_stale_banner(app, page, problems, poller, estate, source, shoot):
    """The connection and the freshness are two facts: a silent source is not "live"."""
    log_in(page, make_user("support").email)
    open_wall(page)
    banner = page.locator("[data-wall-stale]")
    assert banner.is_hidden()
    assert page.inner_text("[data-wall-age]") == "Données à jour"
    assert page.inner_text("[data-wall-status]") == "Connecté à Vigie"
    source.set_outage(True)
    banner.wait_for(state="visible", timeout=5000)
    assert banner.get_attribute("role") == "alert"
    assert re.fullmatch(r"Dernières données : \d{1,2} h \d\d", page.inner_text("[data-wall-age]"))
    assert re.fullmatch(
        r"Données non actualisées depuis \d{1,2} h \d\d", page.inner_text("[data-wall-stale-text]")
    )
    assert "wall--stale" in page.get_attribute("[data-wall]", "class")
    assert page.get_attribute("[data-wall]", "data-fresh") == "stale"
    assert page.inner_text("[data-wall-status]") == "Connecté à Vigie", "connected, nothing more"
    assert page.locator("[data-tile]").count() == 6, "the last known state stays on screen"
    shoot(page, "wall-stale")
    assert_accessible(page, "the wall with the stale banner")
    source.set_outage(False)
    banner.wait_for(state="hidden", timeout=10_000)
    assert page.inner_text("[data-wall-age]") == "Données à jour"
    problems.check()


def test_reconnection_catches_up_what_was_missed(app, page, problems, poller, estate):
    log_in(page, make_user("support").email)
    open_wall(page)
    page.context.set_offline(True)
    page.wait_for_selector('[data-wall][data-live-state="reconnecting"]', timeout=10_000)
    sent = len(poller.sent)
    demo.fail("bitche-routeur")
    # The poller sends the failure while the wall is offline: it must not reach the page.
    wait_until(
        lambda: any(
            event == "wall.update"
            and any(t["slug"] == "bitche" and t["overall"] != "ok" for t in data["tiles"])
            for event, data, _room in poller.sent[sent:]
        ),
        "the poller sends bitche's failure",
        timeout=10,
    )
    assert page.get_attribute('[data-tile][data-slug="bitche"]', "data-state") == "ok"
    page.context.set_offline(False)
    wait_tile_state(page, "bitche", "problem", timeout=15_000)
    assert tile_order(page)[0] == "bitche"
    page.locator("[data-wall-pin]").wait_for(state="visible")
    # Chromium reports the attempts made while offline; those are the point of this test.
    problems[:] = [p for p in problems if "ERR_INTERNET_DISCONNECTED" not in p]
    problems.check()


def test_kiosk_link_opens_the_wall_full_screen_until_revoked(
    app, page, problems, poller, estate, shoot
):
    clear, link = kiosk.create("Télévision du support", make_user("admin"))
    page.goto(f"/mur/kiosque/{clear}")
    page.wait_for_url("**/mur?kiosque=1")
    page.wait_for_selector('[data-wall][data-live-state="live"]')
    assert page.locator(".site-header").is_hidden(), "kiosk: nothing but the wall"
    shoot(page, "wall-kiosk")
    assert_accessible(page, "the wall in kiosk mode")
    page.click('[data-tile][data-slug="sarralbe"] a')
    page.wait_for_url("**/mur/membres/sarralbe")
    page.wait_for_selector("[data-wall-member-page] [data-wall-summary]")
    shoot(page, "wall-kiosk-member")
    assert_accessible(page, "a member's map on the kiosk")
    open_wall(page, "/mur?kiosque=1")
    problems.expected_statuses.add(404)
    kiosk.revoke(link.id)
    page.wait_for_selector("text=Page introuvable", timeout=5000)
    assert "/mur" in page.url
    # The wall's own check of its access (a fetch answered 404) is expected here.
    problems[:] = [p for p in problems if "status of 404" not in p]
    problems.check()


def _tile(slug, name, rank, overall, incidents, since=None, severity=None, requests=0):
    return {
        "slug": slug,
        "name": name,
        "overall": overall,
        "incidents": incidents,
        "since": since,
        "severity": severity,
        "unacked_high": [],
        "open_requests": requests,
        "rank": rank,
    }


def _metrics(cdp) -> dict[str, float]:
    cdp.send("HeapProfiler.collectGarbage")
    cdp.send("HeapProfiler.collectGarbage")
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}


def _push(page, count: int, offset: int = 0) -> None:
    """``count`` wall.update events alternating states, then wait until all are applied."""
    for i in range(offset, offset + count):
        bad = i % 2 == 0
        tiles = [
            _tile(
                "sarralbe",
                "Mairie de Sarralbe",
                0 if bad else 3,
                "problem" if bad else "ok",
                i % 5 if bad else 0,
                f"2026-01-01T08:{i % 60:02d}:00+00:00" if bad else None,
                4 if bad else None,
                i % 3,
            ),
            _tile(
                "bitche",
                "Ville de Bitche",
                1 if not bad else 3,
                "ok" if bad else "warning",
                0 if bad else 1,
                None if bad else "2026-01-01T07:00:00+00:00",
                None if bad else 2,
                2,
            ),
        ]
        events.publish("wall.update", {"tiles": tiles}, events.WALL_ROOM)
    marker = f"Mairie de Sarralbe {offset + count}"
    events.publish(
        "wall.update",
        {"tiles": [_tile("ecole-jean-moulin", marker, 3, "ok", 0)]},
        events.WALL_ROOM,
    )
    page.wait_for_function(
        """(marker) => document.querySelector('[data-tile][data-slug="ecole-jean-moulin"]')
                       ?.dataset.name === marker""",
        arg=marker,
        timeout=60_000,
    )
    events.publish(
        "wall.update",
        {"tiles": [_tile("ecole-jean-moulin", "École élémentaire Jean Moulin", 3, "ok", 0)]},
        events.WALL_ROOM,
    )
    page.wait_for_selector('[data-tile][data-name="École élémentaire Jean Moulin"]')


def test_thousands_of_updates_leave_memory_and_dom_flat(app, page, problems, estate):
    log_in(page, make_user("support").email)
    open_wall(page)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    count = "() => document.getElementsByTagName('*').length"
    _push(page, 200)  # warm up: code compiled, caches filled
    before = _metrics(cdp)
    elements = page.evaluate(count)
    started = time.monotonic()
    _push(page, 2400, offset=200)
    elapsed = time.monotonic() - started
    after = _metrics(cdp)
    growth = after["JSHeapUsedSize"] - before["JSHeapUsedSize"]
    print(
        f"\nwall memory: 2400 updates in {elapsed:.1f} s; JS heap "
        f"{before['JSHeapUsedSize'] / 1e6:.2f} MB -> {after['JSHeapUsedSize'] / 1e6:.2f} MB "
        f"({growth / 1e3:+.1f} kB); DOM nodes {before['Nodes']:.0f} -> {after['Nodes']:.0f}; "
        f"listeners {before['JSEventListeners']:.0f} -> {after['JSEventListeners']:.0f}"
    )
    assert growth < 2_000_000, f"JS heap grew by {growth / 1e6:.2f} MB"
    assert after["Nodes"] == before["Nodes"], "DOM nodes reused, none leaked"
    assert page.evaluate(count) == elements
    assert after["JSEventListeners"] == before["JSEventListeners"]
    assert tile_order(page)[0] == "bitche", "still sorted: the warning first"
    problems.check()
