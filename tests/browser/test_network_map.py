"""The map drawn as a network map, in Chromium at 390×844 and 1920×1080: groups that fold
by touch, pointer and keyboard, the side panel and the bottom sheet, a failure inside a fold,
a failed inter-site link."""

from __future__ import annotations

import pytest

from tests.browser.helpers import assert_accessible
from tests.browser.helpers import assert_no_horizontal_overflow
from tests.browser.helpers import log_in
from tests.browser.helpers import run_poller
from tests.factories import demo_member
from tests.factories import make_user
from webapp.services import demo

pytestmark = pytest.mark.browser

CAMERA = "sarralbe-sw-0-1-camera-3"  # one of the four cameras under « Commutateur mairie 1 »
SWITCH = "sarralbe-sw-0-1"


@pytest.fixture
def poller(app):
    yield from run_poller(app, 0.2)


def open_drawing(page, viewport, slug="sarralbe", site="Mairie"):
    """The whole map on a wide screen; the site's page on a phone (its card tapped)."""
    page.goto(f"/membres/{slug}/carte")
    page.wait_for_selector('[data-live-map][data-live-state="live"]')
    if viewport == "phone":
        assert page.locator("svg[data-map-svg]").count() == 0, "a phone gets cards, no drawing"
        page.tap(f'[data-site-card="{site}"]')
        page.wait_for_selector('[data-live-map][data-live-state="live"]')
    page.wait_for_selector("svg[data-map-svg] g.node")
    return "narrow" if viewport == "phone" else "wide"


def group_of(page, hostid):
    return page.locator(f'g.node--group[data-members~="{hostid}"]')


def test_a_group_opens_and_folds_by_touch_pointer_and_keyboard(
    app, page, problems, viewport, poller, source, shoot
):
    log_in(page, make_user("viewer", member=demo_member("sarralbe")).email)
    open_drawing(page, viewport)
    camera = source.host_by_name(CAMERA).hostid
    group = group_of(page, camera)
    assert group.get_attribute("aria-expanded") == "false"
    assert "4 caméras" in group.get_attribute("aria-label")
    assert page.locator(f'g.node[data-node="{camera}"]').count() == 0
    box = group.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44, "a touch target"
    # Open it (a tap on a phone, a click elsewhere): its members come, in place.
    if viewport == "phone":
        group.tap()
    else:
        group.click()
    page.wait_for_selector(f'g.node[data-node="{camera}"]')
    group = group_of(page, camera)
    assert group.get_attribute("aria-expanded") == "true"
    announce = page.locator("[data-live-announce]")
    assert "groupe déplié" in announce.inner_text()
    shoot(page, "network-map-group-open")
    assert_accessible(page, f"map with an open group ({viewport})")
    # The keyboard: one tab stop; arrows travel from the group into its members.
    group.focus()
    assert page.locator('svg[data-map-svg] g.node[tabindex="0"]').count() == 1
    page.keyboard.press("ArrowDown")
    first = page.evaluate("document.activeElement.dataset.node")
    assert first in group.get_attribute("data-members").split()
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.dataset.group") == group.get_attribute(
        "data-group"
    )
    page.keyboard.press("Enter")  # folds it again, the focus stays on it
    page.wait_for_selector(f'g.node--group[data-members~="{camera}"][aria-expanded="false"]')
    page.wait_for_function(
        "(id) => document.activeElement && document.activeElement.dataset.members"
        " && document.activeElement.dataset.members.split(' ').includes(id)",
        arg=camera,
    )
    assert page.locator(f'g.node[data-node="{camera}"]').count() == 0
    page.keyboard.press("Enter")  # and opens it from the keyboard too
    page.wait_for_selector(f'g.node[data-node="{camera}"]')
    assert_no_horizontal_overflow(page, f"network map ({viewport})")
    problems.check()


def test_a_node_opens_a_side_panel_or_a_bottom_sheet_without_leaving_the_map(
    app, page, problems, viewport, poller, source, shoot
):
    log_in(page, make_user("viewer", member=demo_member("sarralbe")).email)
    open_drawing(page, viewport)
    switch = source.host_by_name(SWITCH).hostid
    node = page.locator(f'g.node[data-node="{switch}"]')
    scroll = page.evaluate("window.scrollY")
    node.tap() if viewport == "phone" else node.click()
    sheet = page.locator("[data-sheet]")
    page.wait_for_selector(f'#node-detail [data-node-card="{switch}"]')
    assert sheet.is_visible()
    page.wait_for_function("() => document.getAnimations().every((a) => a.playState !== 'running')")
    assert page.evaluate("window.scrollY") == scroll, "the map stays where it was"
    box = sheet.bounding_box()
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    if viewport == "phone":  # a bottom sheet, the map still visible above it
        assert box["width"] == width and abs(box["y"] + box["height"] - height) < 2
        assert box["height"] <= 0.76 * height
    else:  # a side panel on the right
        assert abs(box["x"] + box["width"] - width) < 2 and box["width"] <= 0.3 * width
        assert box["height"] == height
    assert sheet.get_by_role("link", name="Demander de l’aide au support pour cet équipement")
    shoot(page, "network-map-panel")
    assert_accessible(page, f"map with its node panel ({viewport})")
    page.keyboard.press("Escape")
    sheet.wait_for(state="hidden")
    assert page.evaluate("document.activeElement.dataset.node") == switch
    node.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(f'#node-detail [data-node-card="{switch}"]')
    sheet.get_by_role("button", name="Fermer").click()
    sheet.wait_for(state="hidden")
    problems.check()


def test_a_failure_inside_a_fold_is_drawn_outside_it(app, page, problems, viewport, poller, source):
    log_in(page, make_user("viewer", member=demo_member("sarralbe")).email)
    kind = open_drawing(page, viewport)
    camera = source.host_by_name(CAMERA).hostid
    assert page.locator(f'g.node[data-node="{camera}"]').count() == 0
    demo.fail(CAMERA)
    failed = page.locator(f'svg[data-map-svg="{kind}"] g.node.node--problem[data-node="{camera}"]')
    failed.wait_for(timeout=5000)
    group = group_of(page, camera)
    assert group.get_attribute("aria-expanded") == "false", "the others stay folded"
    assert "1 en panne" in group.get_attribute("aria-label")
    # The fold tells the others, as its badge does; the failed one has its own box.
    assert group.get_attribute("data-state") == "ok"
    assert group.locator(".node__state").text_content().strip().endswith("fonctionnent")
    assert page.locator(f'svg[data-map-svg="{kind}"] .map__edges--down').count() == 1
    assert "En panne" in failed.get_attribute("aria-label")
    demo.repair(CAMERA)
    page.locator(f'g.node[data-node="{camera}"]').wait_for(state="detached", timeout=5000)
    assert page.locator(f'svg[data-map-svg="{kind}"] .map__edges--down').count() == 0
    problems.check()


def test_a_failed_inter_site_link_is_drawn_between_its_sites(
    app, page, problems, viewport, poller, source, shoot
):
    log_in(page, make_user("viewer", member=demo_member("cc-saulnois")).email)
    page.goto("/membres/cc-saulnois/carte")
    page.wait_for_selector('[data-live-map][data-live-state="live"]')
    link = source.host_by_name("cc-saulnois-liaison-1")
    demo.fail("cc-saulnois-liaison-1")
    card = page.locator(f'[data-site-card="{link.tag("site")}"]')
    # The site behind it: its link down, its devices unreachable.
    page.wait_for_selector(f'[data-site-card="{link.tag("site")}"].site-card--problem')
    assert "1 en panne" in card.inner_text() and "injoignables" in card.inner_text()
    if viewport == "phone":
        assert page.locator(".map-path").is_visible()
        shoot(page, "network-map-link-cards")
    else:
        pill = page.locator(f'g.node--link[data-node="{link.hostid}"]')
        page.wait_for_selector(f'g.node--link.node--problem[data-node="{link.hostid}"]')
        assert link.name in pill.get_attribute("aria-label")
        assert "En panne" in pill.get_attribute("aria-label")
        assert page.locator(".map__edges--down").count() == 1
        frame = page.locator(f'rect.frame[data-site="{link.tag("site")}"]')
        assert "frame--problem" in frame.get_attribute("class")
        shoot(page, "network-map-link-failed")
    assert_accessible(page, f"map with a failed inter-site link ({viewport})")
    demo.repair("cc-saulnois-liaison-1")
    page.wait_for_selector(f'[data-site-card="{link.tag("site")}"].site-card--ok')
    problems.check()
