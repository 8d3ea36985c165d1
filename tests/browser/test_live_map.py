"""The live map in Chromium: a failure turns red without reload, the stale banner appears."""

from __future__ import annotations

import re
import time

import pytest

from tests.browser.helpers import assert_accessible
from tests.browser.helpers import log_in
from tests.browser.helpers import run_poller
from tests.browser.helpers import socket_events
from tests.browser.helpers import wait_socket_event
from tests.factories import demo_member
from tests.factories import make_user
from webapp.services import demo

pytestmark = pytest.mark.browser


@pytest.fixture
def poller(app):
    """The embedded poller, fast: a cycle every 0.2 s while the test runs."""
    yield from run_poller(app, 0.2)


def open_map(page, slug="sarralbe", viewport="wall"):
    """The drawing a reader meets: the whole map on a wide screen, a site's on a phone."""
    page.goto(f"/membres/{slug}/carte" + ("/site/Mairie" if viewport == "phone" else ""))
    page.wait_for_selector('[data-live-map][data-live-state="live"]')
    page.wait_for_selector("svg[data-map-svg] g.node")


def node_class(page, hostid, kind):
    return page.get_attribute(f'svg[data-map-svg="{kind}"] g.node[data-node="{hostid}"]', "class")


def test_failure_turns_node_red_and_dependents_unreachable(
    app, page, problems, viewport, poller, source, shoot
):
    member = demo_member("sarralbe")
    log_in(page, make_user("viewer", member=member).email)
    open_map(page, viewport=viewport)
    switch = source.host_by_name("sarralbe-sw-0-1")
    camera = source.host_by_name("sarralbe-sw-0-1-nas-2")
    kind = "narrow" if viewport == "phone" else "wide"
    assert "node--ok" in node_class(page, switch.hostid, kind)
    started = time.monotonic()
    demo.fail("sarralbe-sw-0-1")
    page.wait_for_function(
        """([id, kind]) => document.querySelector(
            `svg[data-map-svg="${kind}"] g.node[data-node="${id}"]`).classList
            .contains('node--problem')""",
        arg=[switch.hostid, kind],
        timeout=5000,
    )
    elapsed = time.monotonic() - started
    assert "node--unreachable" in node_class(page, camera.hostid, kind)
    # The cameras behind it stay folded, and their group says they are unreachable.
    page.wait_for_selector(f'svg[data-map-svg="{kind}"] g.node--group.node--unreachable')
    if viewport == "phone":  # the site page's list, in text
        row = page.locator(f'tr[data-node="{camera.hostid}"]')
        assert row.get_attribute("data-state") == "unreachable"
        assert "cause probable : Commutateur mairie 1" in row.text_content()
    announce = page.locator("[data-live-announce]")
    assert "Commutateur mairie 1 : En panne" in announce.inner_text()
    assert announce.get_attribute("role") == "status"
    if viewport == "phone":  # the site page's own line
        page.wait_for_selector("[data-live-part=site-head] >> text=1 en panne")
    else:
        page.wait_for_selector("#member-summary >> text=1 panne en cours")
    label = page.get_attribute(
        f'svg[data-map-svg="{kind}"] g.node[data-node="{camera.hostid}"]', "aria-label"
    )
    assert "Injoignable" in label and "cause probable" in label
    assert elapsed < 5
    shoot(page, "live-map-failure")
    assert_accessible(page, f"live map with a failure ({viewport})")
    demo.repair("sarralbe-sw-0-1")
    page.wait_for_function(
        """([id, kind]) => document.querySelector(
            `svg[data-map-svg="${kind}"] g.node[data-node="${id}"]`).classList
            .contains('node--ok')""",
        arg=[switch.hostid, kind],
        timeout=5000,
    )
    problems.check()


def test_stopped_source_brings_the_stale_banner(app, page, problems, viewport, poller, source):
    """Two facts shown apart: still connected to Vigie, but the data is no longer fresh."""
    log_in(page, make_user("viewer", member=demo_member("sarralbe")).email)
    open_map(page, viewport=viewport)
    banner = page.locator("[data-stale-banner]")
    page.wait_for_selector('[data-live-map][data-fresh="fresh"]')
    assert banner.is_hidden()
    assert page.inner_text("[data-fresh-line]") == "Données à jour"
    assert page.inner_text("[data-live-text]") == "Connecté à Vigie"
    source.set_outage(True)
    banner.wait_for(state="visible", timeout=8000)
    assert "Données non actualisées depuis" in banner.inner_text()
    assert banner.get_attribute("role") == "alert"
    assert page.get_attribute("[data-live-map]", "data-fresh") == "stale"
    assert re.fullmatch(r"Dernières données : \d{1,2} h \d\d", page.inner_text("[data-fresh-line]"))
    # The connection is still up, and says only that: never "live" data from a silent source.
    assert page.get_attribute("[data-live-map]", "data-live-state") == "live"
    assert page.inner_text("[data-live-text]") == "Connecté à Vigie"
    # The last known state stays on screen, never emptied nor turned green silently.
    assert page.locator("svg g.node").count() >= 8
    source.set_outage(False)
    banner.wait_for(state="hidden", timeout=8000)
    assert page.inner_text("[data-fresh-line]") == "Données à jour"
    problems.check()


def test_pause_stops_patching_and_resume_catches_up(app, page, problems, viewport, poller, source):
    log_in(page, make_user("viewer", member=demo_member("sarralbe")).email)
    open_map(page, viewport=viewport)
    router = source.host_by_name("sarralbe-sw-0-1")
    kind = "narrow" if viewport == "phone" else "wide"
    page.click("[data-live-pause]")
    assert page.get_attribute("[data-live-pause]", "aria-pressed") == "true"
    seen = socket_events(page)
    demo.fail("sarralbe-sw-0-1")
    # The paused page is told (the failure reaches it), and does not move.
    wait_socket_event(
        page, "member.update", "data.member === 'sarralbe' && data.overall !== 'ok'", seen
    )
    assert "node--ok" in node_class(page, router.hostid, kind), "paused: nothing moves"
    page.click("[data-live-pause]")
    page.wait_for_function(
        """([id, kind]) => document.querySelector(
            `svg[data-map-svg="${kind}"] g.node[data-node="${id}"]`).classList
            .contains('node--problem')""",
        arg=[router.hostid, kind],
        timeout=5000,
    )
    problems.check()


@pytest.mark.parametrize("viewport", ["wall"], indirect=True)
def test_keyboard_moves_between_nodes_and_opens_detail(app, page, problems, viewport, poller):
    log_in(page, make_user("viewer", member=demo_member("sarralbe")).email)
    open_map(page)
    first = page.locator('svg[data-map-svg="wide"] g.node').first
    first.focus()
    page.keyboard.press("ArrowDown")
    focused = page.evaluate("document.activeElement.getAttribute('data-node')")
    second = page.locator('svg[data-map-svg="wide"] g.node').nth(1).get_attribute("data-node")
    assert focused == second
    assert page.locator('svg[data-map-svg="wide"] g.node[tabindex="0"]').count() == 1
    page.keyboard.press("Enter")
    page.wait_for_selector("#node-detail h2")
    assert page.evaluate("document.activeElement.tagName") == "H2"
    problems.check()


def test_socket_from_another_origin_is_refused(app, live_server):
    import socketio

    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(
            live_server,
            namespaces=["/live"],
            transports=["websocket"],
            headers={"Origin": "http://evil.example"},
            wait_timeout=3,
        )
    assert not client.connected


def test_before_its_first_connection_a_page_says_it_is_connecting(app, page, viewport):
    """Never « connexion perdue » for a connection that never was (then « Connecté » once it is)."""
    member = demo_member("sarralbe")
    log_in(page, make_user("viewer", member=member).email)
    refused = []
    let_through = []

    def refuse(ws):
        if let_through:
            ws.connect_to_server()
            return
        refused.append(ws.url)
        ws.close()

    page.route_web_socket(re.compile(r"/socket\.io/"), refuse)
    page.goto("/membres/sarralbe/carte")
    deadline = time.monotonic() + 15
    while not refused:  # the positive signal: the page's attempt was turned away
        assert time.monotonic() < deadline, "the page never tried to connect"
        page.wait_for_timeout(50)
    root = page.locator("[data-live-map]")
    assert root.get_attribute("data-live-state") in (None, "connecting")
    text = root.locator("[data-live-text]").inner_text()
    assert text == "Connexion à Vigie…"
    let_through.append(True)
    page.goto("/membres/sarralbe/carte")
    page.wait_for_selector('[data-live-map][data-live-state="live"]')
    assert root.locator("[data-live-text]").inner_text() == "Connecté à Vigie"
