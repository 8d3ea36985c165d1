"""Render the installable app's PNG icons from SVG with Debian's Chromium (headless).

    .venv/bin/python scripts/render_icons.py

Writes static/img/icon-{192,512}.png (the round logo on a transparent background),
icon-maskable-{192,512}.png (full bleed, the logo inside the 80 % safe zone),
apple-touch-icon.png (180×180, opaque: iOS fills transparency with black) and
badge-96.png (white silhouette: Android draws the badge from its alpha). The SVGs
below are the sources, drawn from static/img/vigie.svg; same input, same pictures.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.browser import CHROMIUM  # noqa: E402 - after the path is set
from bench.browser import CHROMIUM_ARGS  # noqa: E402

OUT = ROOT / "static" / "img"
BLUE = "#1d4e89"  # --c-primary in static/css/vigie.css
EYE = "M6 17c3-6 7-9 10-9s7 3 10 9c-3 5-7 7-10 7s-7-2-10-7z"

ROUND = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    f'<circle cx="16" cy="16" r="15" fill="{BLUE}"/>'
    f'<path d="{EYE}" fill="#fff"/><circle cx="16" cy="16" r="4.5" fill="{BLUE}"/></svg>'
)
# Full bleed; the eye (20 units wide in a 32 grid) scaled to 60 % of the side, centred,
# well inside the safe zone (a circle of 40 % radius).
MASKABLE = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    f'<rect width="32" height="32" fill="{BLUE}"/>'
    '<g transform="translate(16 16) scale(0.96) translate(-16 -16)">'
    f'<path d="{EYE}" fill="#fff"/><circle cx="16" cy="16" r="4.5" fill="{BLUE}"/></g></svg>'
)
BADGE = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<defs><mask id="m"><rect width="32" height="32" fill="#fff"/>'
    '<circle cx="16" cy="16" r="4.5" fill="#000"/></mask></defs>'
    f'<path d="{EYE}" fill="#fff" mask="url(#m)" '
    'transform="translate(16 16) scale(1.4) translate(-16 -16)"/></svg>'
)

ICONS = [
    ("icon-192.png", ROUND, 192, True),
    ("icon-512.png", ROUND, 512, True),
    ("icon-maskable-192.png", MASKABLE, 192, False),
    ("icon-maskable-512.png", MASKABLE, 512, False),
    ("apple-touch-icon.png", MASKABLE, 180, False),
    ("badge-96.png", BADGE, 96, True),
]

PAGE = """<!doctype html><html><head><style>
html, body {{ margin: 0; padding: 0; background: transparent; }}
svg {{ display: block; width: {size}px; height: {size}px; }}
</style></head><body>{svg}</body></html>"""


def main() -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            for name, svg, size, transparent in ICONS:
                page = browser.new_page(
                    viewport={"width": size, "height": size}, device_scale_factor=1
                )
                page.set_content(PAGE.format(size=size, svg=svg))
                page.screenshot(path=str(OUT / name), omit_background=transparent)
                page.close()
                print(f"static/img/{name} ({size}×{size})")
        finally:
            browser.close()


if __name__ == "__main__":
    main()
