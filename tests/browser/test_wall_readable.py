"""The wall's member panel readable at 3 m (1920×1080): no text under 18 CSS px.

A large member is not its map in miniature: the panel shows the problem's path from
Internet and the affected site, in large type, live; the kiosk page the same, on a
TV and on a phone.
"""

from __future__ import annotations

import pytest

from tests.browser.helpers import assert_accessible
from tests.browser.helpers import assert_no_horizontal_overflow
from tests.browser.helpers import log_in
from tests.browser.helpers import run_poller
from tests.browser.helpers import screenshot
from tests.factories import demo_estate
from tests.factories import make_user
from webapp.services import demo

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("viewport", ["wall"], indirect=True)]

SWITCH = "cc-saulnois-sw-2-2"  # « Commutateur piscine intercommunale 2 », three devices behind
MIN_PX = 18

# Every piece of text drawn in ``root`` (text nodes, ::before/::after content, SVG text)
# with its effective size: the computed font size times every scale on the way to the
# screen (CSS transform, scale and zoom of each ancestor; an SVG text's screen matrix).
TEXT_SIZES = """(selector) => {
  const root = document.querySelector(selector);
  const scaleOf = (el) => {
    if (el instanceof SVGElement) {
      const m = el.getScreenCTM();
      return m ? Math.hypot(m.a, m.b) : 1;
    }
    let scale = 1;
    for (let n = el; n; n = n.parentElement) {
      const cs = getComputedStyle(n);
      if (cs.transform && cs.transform !== "none") {
        const m = new DOMMatrixReadOnly(cs.transform);
        scale *= Math.hypot(m.a, m.b);
      }
      if (cs.scale && cs.scale !== "none") scale *= parseFloat(cs.scale);
      const zoom = parseFloat(cs.zoom);
      if (zoom && zoom !== 1) scale *= zoom;
    }
    return scale;
  };
  const shown = (rect) => rect.width > 1 && rect.height > 1;
  const found = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    const value = text.textContent.trim();
    const el = text.parentElement;
    if (!value || !el || el.closest(".visually-hidden")) continue;
    const range = document.createRange();
    range.selectNodeContents(text);
    if (!shown(range.getBoundingClientRect())) continue;
    const px = parseFloat(getComputedStyle(el).fontSize) * scaleOf(el);
    found.push({ text: value.slice(0, 60), px, tag: el.tagName, cls: String(el.className) });
  }
  for (const el of [root, ...root.querySelectorAll("*")]) {
    if (!el.getClientRects().length || el.closest(".visually-hidden")) continue;
    for (const pseudo of ["::before", "::after"]) {
      const cs = getComputedStyle(el, pseudo);
      const content = cs.content.replace(/\\s*\\/.*$/, "");
      if (!content || ["none", "normal", '""', "''"].includes(content)) continue;
      const px = parseFloat(cs.fontSize) * scaleOf(el);
      found.push({ text: content, px, tag: `${el.tagName}${pseudo}`, cls: String(el.className) });
    }
  }
  return found;
}"""


@pytest.fixture
def poller(app):
    yield from run_poller(app, 0.2)


@pytest.fixture
def estate(app):
    return demo_estate(app.config["DEMO_MEMBERS"])


def text_sizes(page, selector: str) -> list[dict]:
    sizes = page.evaluate(TEXT_SIZES, selector)
    assert len(sizes) >= 5, f"the walk found text in {selector}: {sizes}"
    return sizes


def assert_readable_at_3_m(page, selector: str, where: str) -> None:
    small = [s for s in text_sizes(page, selector) if s["px"] < MIN_PX - 0.01]
    assert not small, f"{where}: text under {MIN_PX} px: {small}"


def visible_text(page, selector: str) -> str:
    return " ".join(page.locator(selector).inner_text().split())


def test_member_panel_shows_the_path_and_the_site_in_large_type(
    app, page, problems, poller, estate, shoot
):
    log_in(page, make_user("support").email)
    page.goto("/mur")
    page.wait_for_selector('[data-wall][data-live-state="live"]')
    demo.fail(SWITCH)
    panel = '[data-wall-panel] [data-wall-member="cc-saulnois"]'
    switch = demo._source().host_by_name(SWITCH).hostid
    # Pinned (a new high-severity problem), live: the panel arrives with the path.
    page.wait_for_selector(f'{panel} [data-wall-path="{switch}"]', timeout=10_000)
    steps = page.eval_on_selector_all(
        f'{panel} [data-wall-path="{switch}"] .wall-step',
        """steps => steps.map(s => [s.querySelector('.wall-step__label').textContent.trim(),
                                   s.dataset.state, s.classList.contains('wall-step--end')])""",
    )
    assert steps == [
        ["Internet", "ok", False],
        ["Box fibre (Siège)", "ok", False],
        ["Routeur siège", "ok", False],
        ["Liaison siège – piscine intercommunale", "ok", False],
        ["Routeur piscine intercommunale", "ok", False],
        ["Commutateur piscine intercommunale 2", "problem", True],
    ]
    text = visible_text(page, panel)
    assert "Commutateur piscine intercommunale 2 ✕ En panne" in text, text
    assert "3 équipements injoignables derrière" in text
    assert "Piscine intercommunale : 1 en panne, 3 injoignables" in text
    assert "2 autres sites : tout fonctionne" in text
    assert page.locator(f"{panel} svg").count() == 0, "no map in miniature"
    assert_readable_at_3_m(page, "[data-wall-panel]", "the wall's member panel")
    shoot(page, "wall-panel-failure")
    assert_accessible(page, "the wall with a member's problem path")

    # The kiosk page of the same member, on the TV: the same panel, as readable.
    page.goto("/mur/membres/cc-saulnois")
    page.wait_for_selector('[data-wall-member-page][data-live-state="live"]')
    assert_readable_at_3_m(page, "[data-wall-member-content]", "the kiosk member page")
    shoot(page, "wall-kiosk-failure")
    # On a phone: nothing wider than the screen, the path wraps.
    page.set_viewport_size({"width": 390, "height": 844})
    assert_no_horizontal_overflow(page, "the kiosk member page on a phone")
    assert_readable_at_3_m(page, "[data-wall-member-content]", "the kiosk page on a phone")
    screenshot(page, "wall-kiosk-failure-phone")
    assert_accessible(page, "the kiosk member page on a phone")

    # Repaired: live, one large « all works » with the counts.
    page.set_viewport_size({"width": 1920, "height": 1080})
    demo.repair(SWITCH)
    ok = page.locator("[data-wall-member-content] .wall-ok")
    ok.wait_for(timeout=10_000)
    assert visible_text(page, "[data-wall-member-content] .wall-ok") == (
        "✓ 27 équipements sur 3 sites : tout fonctionne."
    )
    assert_readable_at_3_m(page, "[data-wall-member-content]", "the kiosk page, all fine")
    shoot(page, "wall-kiosk-ok")
    assert_accessible(page, "the kiosk member page, all fine")
    problems.check()
