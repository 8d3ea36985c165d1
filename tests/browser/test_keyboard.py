"""Keyboard use: the skip link comes first and works; the focus ring shows."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser.helpers import first_backend_only
from tests.browser.helpers import log_in

pytestmark = pytest.mark.browser

_FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {tag: el.tagName.toLowerCase(), id: el.id, cls: el.className,
          text: el.textContent.trim(), href: el.getAttribute('href'),
          outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
          outlineColor: style.outlineColor,
          visible: box.width > 0 && box.height > 0 && box.bottom > 0 && box.top < innerHeight};
}"""


def _tab(page) -> dict:
    page.keyboard.press("Tab")
    return page.evaluate(_FOCUSED)


def _check_skip_link_and_focus_ring(page) -> None:
    first = _tab(page)
    assert first["cls"] == "skip-link", f"first focusable element is {first}"
    assert first["text"] == "Aller au contenu"
    assert first["href"] == "#contenu"
    assert first["visible"], "the skip link stays off screen when focused"
    assert first["outlineStyle"] != "none" and first["outlineWidth"] >= 2, first

    page.keyboard.press("Enter")
    expect(page).to_have_url(page.url.split("#")[0] + "#contenu")
    focused = page.evaluate(_FOCUSED)
    assert (focused["tag"], focused["id"]) == ("main", "contenu"), focused

    # The next Tab goes on from the main content, into its first link or field.
    after = _tab(page)
    assert page.evaluate(
        "() => document.getElementById('contenu').contains(document.activeElement)"
    ), after
    assert after["outlineStyle"] != "none" and after["outlineWidth"] >= 2, after


@first_backend_only
def test_skip_link_and_focus_ring_anonymous(page, problems, viewport):
    page.goto("/connexion")
    _check_skip_link_and_focus_ring(page)
    problems.check()


@first_backend_only
def test_skip_link_and_focus_ring_on_member_home(page, problems, viewport):
    member = factories.demo_member("sarralbe")
    log_in(page, factories.make_user("member_admin", member).email)
    _check_skip_link_and_focus_ring(page)
    # A link of the header: focus ring in the header's own colour, still visible.
    page.get_by_role("link", name="Mon profil").focus()
    ring = page.evaluate(_FOCUSED)
    assert ring["tag"] == "a" and ring["outlineStyle"] != "none", ring
    problems.check()
