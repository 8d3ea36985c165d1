"""The map's icons draw in Chromium: ``<use href="{{ icon_href(role) }}">`` loads the hashed
sprite under the portal's Content-Security-Policy, and every role draws its own picture."""

from __future__ import annotations

import pytest
from flask import render_template_string

from webapp import icons

pytestmark = pytest.mark.browser

# Only the portal's own headers and CSP: no inline style (style-src 'self'), sizes and
# colour as SVG attributes. The last <svg> points at no symbol: what "nothing drawn" is.
SHEET = """<!doctype html><html lang="fr"><head><meta charset="utf-8">
<title>Icônes de la carte</title></head><body><main><ul>
{% for key in keys %}<li><svg width="48" height="48" color="#1d4e89" role="img"
 aria-label="{{ key }}" data-key="{{ key }}"><use href="{{ icon_href(key) }}"/></svg>
 {{ key }}</li>{% endfor %}
<li><svg width="48" height="48" color="#1d4e89" data-key="" aria-hidden="true"><use
 href="{{ url_for('static', filename=sprite) }}#icon-none"/></svg></li>
</ul></main></body></html>"""

# Every <use> whose symbol arrived has the symbol's box (the blank one has none).
_DRAWN = """(count) => {
  const boxes = [...document.querySelectorAll('svg[data-key]:not([data-key=""]) use')]
    .map((use) => use.getBBox());
  return boxes.length === count && boxes.every((box) => box.width > 0 && box.height > 0);
}"""


def test_every_icon_draws_its_own_picture(app, page, problems, shoot):
    app.add_url_rule(
        "/__tests__/icons",
        "icons_sheet",
        lambda: render_template_string(SHEET, keys=list(icons.ICONS), sprite=icons.SPRITE),
    )
    with page.expect_response(lambda r: "/static/vendor/icons/map." in r.url) as sprite:
        page.goto("/__tests__/icons")
    assert sprite.value.status == 200
    assert sprite.value.headers["content-type"].startswith("image/svg+xml")
    page.wait_for_function(_DRAWN, arg=len(icons.ICONS))
    pictures = {
        key: page.locator(f'svg[data-key="{key}"]').screenshot() for key in [*icons.ICONS, ""]
    }
    blank = pictures.pop("")
    assert all(picture != blank for picture in pictures.values()), "an icon draws nothing"
    assert len(set(pictures.values())) == len(pictures), "two roles draw the same picture"
    shoot(page, "map-icons")
    problems.check()
