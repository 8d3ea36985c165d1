# ruff: noqa: E501 - the browser checks are JavaScript, kept readable as written
"""The RGAA 4.1 self-audit of Vigie: axe-core and scripted checks in Chromium, then the grid.

    .venv/bin/python scripts/rgaa_audit.py criteria --from PATH/rgaa_4.1.criteres.json
    .venv/bin/python scripts/rgaa_audit.py run [--pages connexion,carte] [--no-validate]

``criteria`` writes ``docs/rgaa/criteres.csv`` (the 106 criteria: number, theme, title, WCAG
references, the axe-core rules tagged with the criterion) from the RGAA's ``criteres.json``.

``run`` loads the demo data into a throw-away SQLite database, serves the portal on
127.0.0.1, and visits each page of ``docs/rgaa/audit.toml`` in Debian's Chromium as the
account that sees it. On each page it runs axe-core (1280 px and 390 px), reads facts from
the DOM (images, frames, media, tables, forms, landmarks, languages…), walks the page with
the Tab key (order, visible focus, traps, skip link), enlarges the text to 200 %, narrows
the window to 320 px, applies the WCAG text spacing, turns the phone to landscape, turns the
styles off (reading order), validates the generated HTML (html-validate, through npx) and
takes screenshots (``screenshots/rgaa/``, not committed). It writes
``docs/rgaa/automatique.json`` (what each check found) and ``docs/rgaa/grille.csv`` (one row
per criterion and page), combining those results with the human verifications of
``audit.toml``:

1. an axe-core violation or a failed scripted check makes the cell NC, whatever else says;
2. a criterion that the page cannot contain (no frame, no media, no table…) is NA;
3. a human verification of ``audit.toml`` gives its result (NC wins over C);
4. a criterion fully covered by passing scripted checks is C;
5. anything else is NT (non vérifié): it counts as not met.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from datetime import UTC
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DOCS = ROOT / "docs" / "rgaa"
SHOTS = ROOT / "screenshots" / "rgaa"
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_URL = "/__rgaa__/axe.min.js"
HTML_VALIDATE = "html-validate@11.21.1"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}

# ---- criteria ------------------------------------------------------------------------------

_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")


def _plain(text: str) -> str:
    """The criterion's title without its glossary links and code marks."""
    text = _LINK.sub(r"\1", text).replace("`", "")
    return re.sub(r"\s+", " ", text).strip()


def axe_rgaa_rules() -> dict[str, list[str]]:
    """criterion ("1.1") -> axe-core rule ids tagged ``RGAA-1.1.x`` by axe-core itself."""
    script = (
        "const axe=require(process.argv[1]);const out={};"
        "for(const r of axe.getRules()){for(const t of r.tags){"
        "const m=/^RGAA-(\\d+\\.\\d+)\\./.exec(t);if(m)(out[m[1]]=out[m[1]]||[]).push(r.ruleId);}}"
        "console.log(JSON.stringify(out));"
    )
    axe_dir = str(ROOT / "node_modules" / "axe-core")
    out = subprocess.run(
        ["node", "-e", script, axe_dir], capture_output=True, text=True, check=True
    ).stdout
    return {k: sorted(set(v)) for k, v in json.loads(out).items()}


def write_criteria(source: Path) -> int:
    data = json.loads(source.read_text(encoding="utf-8"))
    rules = axe_rgaa_rules()
    rows = []
    for topic in data["topics"]:
        for item in topic["criteria"]:
            criterion = item["criterium"]
            number = f"{topic['number']}.{criterion['number']}"
            wcag = []
            for ref in criterion.get("references", []):
                wcag += [w.split(" ")[0] for w in ref.get("wcag", [])]
            rows.append(
                {
                    "critere": number,
                    "thematique": topic["topic"],
                    "titre": _plain(criterion["title"]),
                    "wcag": " ".join(dict.fromkeys(wcag)),
                    "regles_axe": " ".join(rules.get(number, [])),
                }
            )
    DOCS.mkdir(parents=True, exist_ok=True)
    with (DOCS / "criteres.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


# ---- in the browser ------------------------------------------------------------------------

_AXE_RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations', 'incomplete']});
  const pick = (list) => list.map(v => ({id: v.id, tags: v.tags, impact: v.impact,
    help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
  return {violations: pick(r.violations), incomplete: pick(r.incomplete),
          passes: r.passes.map(v => v.id), inapplicable: r.inapplicable.map(v => v.id)};
}"""

# Facts read from the DOM: what the page contains, for applicability and for the review.
_FACTS = """() => {
  const q = (s) => [...document.querySelectorAll(s)];
  const visible = (el) => { const b = el.getBoundingClientRect(); const cs = getComputedStyle(el);
    return b.width > 0 && b.height > 0 && cs.visibility !== 'hidden'; };
  const name = (el) => (el.getAttribute('aria-label') || el.getAttribute('alt') ||
    (el.getAttribute('aria-labelledby') || '').split(/\\s+/).map(id =>
      document.getElementById(id)?.textContent || '').join(' ') ||
    el.getAttribute('title') || el.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 90);
  const desc = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (typeof el.className === 'string' && el.className.trim() ?
      '.' + el.className.trim().split(/\\s+/).slice(0, 2).join('.') : '');
  const images = [];
  for (const el of q('img, [role="img"], svg, input[type="image"], area, canvas, picture')) {
    if (el.tagName.toLowerCase() === 'svg' && el.closest('[role="img"], [aria-hidden="true"]')
        && el.getAttribute('role') !== 'img') { continue; }
    const hidden = el.closest('[aria-hidden="true"]') !== null || el.getAttribute('alt') === ''
      || el.getAttribute('role') === 'presentation';
    images.push({el: desc(el), decorative: hidden, name: hidden ? '' : name(el),
                 src: (el.getAttribute('src') || '').split('/').pop()});
  }
  const tables = q('table').map(t => {
    const rows = [...t.rows];
    const complex = t.querySelector('[headers], th[colspan], th[rowspan]') !== null ||
      (t.tHead && t.tHead.rows.length > 1) ||
      rows.some((r, i) => [...r.cells].some((c, j) => c.tagName === 'TH' && i > 0 && j > 0
        && !(t.tHead && t.tHead.contains(c))));
    return {el: desc(t), layout: t.getAttribute('role') === 'presentation',
      caption: t.caption ? t.caption.textContent.replace(/\\s+/g, ' ').trim() :
        (t.getAttribute('aria-label') || ''),
      th_col: t.querySelectorAll('thead th').length, complex,
      th_row: t.querySelectorAll('tbody th').length,
      th_row_scoped: t.querySelectorAll('tbody th[scope="row"]').length,
      th_col_scoped: t.querySelectorAll('thead th[scope="col"]').length};
  });
  const fields = q('input:not([type="hidden"]), select, textarea').map(f => {
    const label = f.labels && f.labels.length ? f.labels[0].textContent : '';
    return {el: desc(f), type: f.type || f.tagName.toLowerCase(), name: f.name || '',
      label: label.replace(/\\s+/g, ' ').trim().slice(0, 90), visible_label:
        !!(f.labels && [...f.labels].some(visible)) || f.type === 'submit',
      aria: f.getAttribute('aria-label') || '', autocomplete: f.getAttribute('autocomplete') || '',
      required: f.required || f.getAttribute('aria-required') === 'true',
      in_fieldset: !!f.closest('fieldset'), visible: visible(f)};
  });
  const presentational = [];
  const attrs = ['align', 'alignment', 'background', 'bgcolor', 'border', 'cellpadding',
    'cellspacing', 'char', 'charoff', 'clear', 'compact', 'color', 'frameborder', 'hspace',
    'link', 'marginheight', 'marginwidth', 'text', 'valign', 'vlink', 'vspace'];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('svg')) continue;  // SVG presentation attributes are SVG's own styling
    for (const a of attrs) if (el.hasAttribute(a)) presentational.push(desc(el) + '[' + a + ']');
    if (el.hasAttribute('style')) presentational.push(desc(el) + '[style]');
    const tag = el.tagName.toLowerCase();
    if ((el.hasAttribute('width') || el.hasAttribute('height')) &&
        !['img', 'object', 'embed', 'canvas', 'svg', 'video', 'iframe', 'source'].includes(tag))
      presentational.push(desc(el) + '[width/height]');
    if (['font', 'center', 'basefont', 'big', 'blink', 'marquee', 's', 'strike', 'tt', 'u']
        .includes(tag)) presentational.push(tag);
  }
  const pseudo = [];
  for (const el of document.body.querySelectorAll('*')) {
    for (const p of ['::before', '::after']) {
      const c = getComputedStyle(el, p).content;
      if (c && c !== 'none' && c !== 'normal' && /[\\p{L}\\p{N}]/u.test(c.replace(/^"|"$/g, '')))
        pseudo.push(desc(el) + p + ' ' + c.slice(0, 40));
    }
    const bg = getComputedStyle(el).backgroundImage;
    if (bg && bg !== 'none' && !bg.startsWith('linear-gradient') && !bg.startsWith('repeating-'))
      pseudo.push(desc(el) + ' background-image');
  }
  // A link "in text": its parent holds words of its own beside it (not a link alone in a
  // list item, a heading or a card), and it does not look like a button.
  const inText = (a) => {
    const parent = a.parentElement;
    if (!parent || !parent.closest('p, li, dd, td')) return false;
    const own = [...parent.childNodes].filter(n => n.nodeType === 3)
      .map(n => n.textContent).join('').replace(/[\\s()·,;:.–—-]/g, '');
    const cs = getComputedStyle(a);
    const boxed = cs.borderStyle !== 'none' && parseFloat(cs.borderWidth) > 0 ||
      cs.backgroundColor !== 'rgba(0, 0, 0, 0)';
    return own.length > 2 && !boxed;
  };
  const links = q('a[href]').map(a => ({text: name(a), href: a.getAttribute('href').slice(0, 80),
    blank: a.target === '_blank', in_text: inText(a),
    underlined: getComputedStyle(a).textDecorationLine.includes('underline')}));
  const symbols = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const m = n.textContent.match(/[\\u2190-\\u2BFF\\u{1F300}-\\u{1FAFF}]/u);
    if (m && n.parentElement && visible(n.parentElement))
      symbols.push({char: m[0], hidden: !!n.parentElement.closest('[aria-hidden="true"]'),
                    el: desc(n.parentElement)});
  }
  const langs = q('[lang]').filter(e => e !== document.documentElement)
    .map(e => ({el: desc(e), lang: e.lang, text: e.textContent.trim().slice(0, 40)}));
  const documents = links.filter(l => /\\.(pdf|odt|ods|docx?|xlsx?|csv|pptx?)(\\?|$)/i.test(l.href));
  return {
    title: document.title,
    doctype: document.doctype ? document.doctype.name : null,
    doctype_first: document.doctype !== null && document.firstChild === document.doctype,
    lang: document.documentElement.lang,
    headings: q('h1, h2, h3, h4, h5, h6, [role="heading"]').filter(visible).map(h =>
      (h.getAttribute('aria-level') || h.tagName[1]) + ' ' + h.textContent.replace(/\\s+/g, ' ')
        .trim().slice(0, 70)),
    landmarks: {banner: q('header, [role="banner"]').filter(e => !e.closest('main, article, section, aside, nav')).length,
      nav: q('nav, [role="navigation"]').length, main: q('main, [role="main"]').length,
      contentinfo: q('footer, [role="contentinfo"]').filter(e => !e.closest('main, article, section, aside, nav')).length},
    images, tables,
    frames: q('iframe, frame').length,
    media: q('audio, video, object, embed, canvas, applet, bgsound').length,
    fields, buttons: q('button, input[type="submit"], input[type="button"], input[type="reset"]')
      .map(b => name(b) || b.value || ''),
    fieldsets: q('fieldset').map(f => (f.querySelector('legend')?.textContent || '')
      .replace(/\\s+/g, ' ').trim().slice(0, 60)),
    selects: q('select').map(s => ({options: s.options.length, optgroups: s.querySelectorAll('optgroup').length})),
    links, documents, langs, presentational, pseudo, symbols,
    dir: q('[dir]').map(e => e.getAttribute('dir')),
    quotes: q('q, blockquote').length,
    lists: q('ul, ol, dl').length,
    live_regions: q('[role="status"], [role="alert"], [role="log"], [aria-live]').map(desc),
    positive_tabindex: q('[tabindex]').filter(e => parseInt(e.getAttribute('tabindex')) > 0).map(desc),
    accesskeys: q('[accesskey]').map(desc),
    titles: q('[title]').map(e => desc(e) + ': ' + e.title.slice(0, 50)),
    details: q('details').length,
    text: document.body.innerText.length,
  };
}"""

_FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const cs = getComputedStyle(el);
  const b = el.getBoundingClientRect();
  const ring = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) ||
    (cs.boxShadow && cs.boxShadow !== 'none');
  let svgRing = false;
  if (el instanceof SVGElement) {  // the map draws its own focus ring
    const r = el.querySelector('.node__focus, .node__ring');
    svgRing = !!r && getComputedStyle(r).display !== 'none' && getComputedStyle(r).visibility !== 'hidden';
  }
  const d = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\\s+/)[0] :
     (el.className && el.className.baseVal ? '.' + el.className.baseVal.split(/\\s+/)[0] : ''));
  const label = (el.getAttribute('aria-label') || el.textContent || el.value || '')
    .replace(/\\s+/g, ' ').trim().slice(0, 50);
  return {el: d, label, ring: ring || svgRing, x: Math.round(b.left + scrollX),
          y: Math.round(b.top + scrollY), w: Math.round(b.width), h: Math.round(b.height)};
}"""

_OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const clipped = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement)
      if (getComputedStyle(a).overflowX !== 'visible') return true;
    return false;
  };
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('.table-wrap, .visually-hidden, .skip-link')) continue;
    const b = el.getBoundingClientRect();
    if (b.width === 0 || b.height === 0) continue;
    if ((b.right > width + 1 || b.left < -1) && !clipped(el)) {
      out.push(el.tagName.toLowerCase() + (el.className && typeof el.className === 'string'
        ? '.' + el.className.split(/\\s+/)[0] : '') + ` [${Math.round(b.left)}, ${Math.round(b.right)}]`);
      if (out.length >= 8) break;
    }
  }
  return {scroll: document.documentElement.scrollWidth, width, offenders: out};
}"""

# Text cut off: an element that clips its overflow and holds more text than it shows.
_CLIPPED = """() => {
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('.visually-hidden, .skip-link, [hidden], svg')) continue;
    const cs = getComputedStyle(el);
    if (cs.display === 'none' || cs.visibility === 'hidden') continue;
    const clips = (v) => v === 'hidden' || v === 'clip';
    if (!(clips(cs.overflowX) || clips(cs.overflowY) || cs.textOverflow === 'ellipsis')) continue;
    const text = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!text && !el.querySelector('p, span, a, strong, li')) continue;
    if (el.scrollWidth > el.clientWidth + 2 || el.scrollHeight > el.clientHeight + 2)
      out.push(el.tagName.toLowerCase() + (typeof el.className === 'string' && el.className
        ? '.' + el.className.split(/\\s+/)[0] : '') + ` (${el.scrollWidth}×${el.scrollHeight} > ${el.clientWidth}×${el.clientHeight})`);
    if (out.length >= 8) break;
  }
  return out;
}"""

_SPACING = """() => {
  const sheet = new CSSStyleSheet();  // CSSOM: allowed by the page's style-src 'self'
  sheet.replaceSync('* { line-height: 1.5 !important; letter-spacing: .12em !important; ' +
    'word-spacing: .16em !important; } p { margin-bottom: 2em !important; }');
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  return getComputedStyle(document.body).letterSpacing;
}"""

_CSS_OFF = """() => { for (const s of document.styleSheets) s.disabled = true;
  return document.body.innerText; }"""


def _wait_ready(page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)


def _axe(page) -> dict:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE_URL)
    return page.evaluate(_AXE_RUN)


_FOCUS_BOX = """() => {
  const el = document.activeElement;
  el.scrollIntoView({block: 'center'});
  let box = el.getBoundingClientRect();
  for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
    const b = a.getBoundingClientRect();  // the indicator may be drawn on a parent (:focus-within)
    if (b.width * b.height > 600 * 400) break;
    box = b;
  }
  const m = 8, x = Math.max(0, box.left - m), y = Math.max(0, box.top - m);
  return {x, y, width: Math.min(innerWidth - x, box.width + 2 * m),
          height: Math.min(innerHeight - y, box.height + 2 * m)};
}"""


def _focus_changes_pixels(page) -> bool:
    """Does the focused element (or a small parent) look different once blurred?"""
    clip = page.evaluate(_FOCUS_BOX)
    if clip["width"] < 1 or clip["height"] < 1:
        return False
    handle = page.evaluate_handle("document.activeElement")
    focused = page.screenshot(clip=clip, animations="disabled")
    page.evaluate("(el) => el.blur()", handle)
    blurred = page.screenshot(clip=clip, animations="disabled")
    page.evaluate("(el) => el.focus({focusVisible: true})", handle)
    return focused != blurred


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _measured_contrast(page, selector: str) -> dict | None:
    """What a colour picker would say: the element's pixels, background = the most common
    colour, text = the colour (2 % of the pixels at least) farthest from it."""
    import io

    from PIL import Image

    handle = page.query_selector(selector)
    if handle is None or not handle.is_visible():
        return None
    image = Image.open(io.BytesIO(handle.screenshot(animations="disabled"))).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    total = sum(n for n, _c in colours)
    colours.sort(reverse=True)
    background = colours[0][1]
    candidates = [c for n, c in colours if n >= 0.02 * total and c != background]
    if not candidates:
        return {"ratio": None, "background": background}
    fg = max(candidates, key=lambda c: contrast(c, background))
    return {"ratio": round(contrast(fg, background), 2), "fg": fg, "bg": background}


def _contrast_checks(page, axe_result: dict) -> list[dict]:
    """axe-core could not decide some contrasts (glyphs, SVG text): measure them."""
    out = []
    for item in axe_result.get("incomplete", []):
        if item["id"] != "color-contrast":
            continue
        for selector in item["nodes"]:
            measured = _measured_contrast(page, selector)
            if measured:
                out.append({"selector": selector, **measured})
    return out


def _keyboard(page, limit: int = 250) -> dict:
    """Tab from the top: the order, the focus ring of each stop, traps, the skip link."""
    page.evaluate(
        "() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }"
    )
    page.keyboard.press("Tab")
    first = page.evaluate(_FOCUS)
    skip_ok = False
    if first and "skip-link" in first["el"]:
        page.keyboard.press("Enter")
        page.wait_for_timeout(100)
        skip_ok = page.evaluate(
            "() => document.activeElement && document.activeElement.id === 'contenu'"
        )
    page.evaluate(
        "() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }"
    )
    stops, repeats, trapped, completed = [], 0, False, False
    previous = None
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = page.evaluate(_FOCUS)
        if info is None:
            completed = True  # focus left the document: the end of the page was reached
            break
        key = (info["el"], info["x"], info["y"])
        if key == previous:  # the next segment of a date or time field: same element
            info["ring"] = stops[-1]["ring"]
        elif not info["ring"]:
            info["ring"] = _focus_changes_pixels(page)
        if stops and key == (stops[0]["el"], stops[0]["x"], stops[0]["y"]):
            completed = True  # wrapped around to the first stop
            break
        if key == previous:
            repeats += 1  # a date or time field takes several Tabs (one per segment)
            if repeats >= 10:
                trapped = True
                break
        else:
            repeats = 0
        previous = key
        stops.append(info)
    else:
        trapped = False  # more stops than the limit: not a trap, but not walked to the end
    backward = [
        f"{a['el']} → {b['el']} ({a['y']} → {b['y']})"
        for a, b in zip(stops, stops[1:], strict=False)
        if b["y"] < a["y"] - 60 and b["x"] <= a["x"]
    ]
    return {
        "first": first["el"] if first else None,
        "skip_link_works": skip_ok,
        "stops": len(stops),
        "completed": completed,
        "trapped": trapped,
        "no_ring": [f"{s['el']} « {s['label']} »" for s in stops if not s["ring"]],
        "backward_jumps": backward,
        "sequence": [f"{s['el']} « {s['label']} »" for s in stops][:80],
    }


def audit_page(browser, base: str, page_meta: dict, cookies: list, validate: bool) -> dict:
    """Every automatic and scripted check of one page."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    name = page_meta["id"]
    url = base + page_meta["url"]
    result: dict = {"url": page_meta["url"]}

    def context(**kwargs):
        ctx = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", **kwargs)
        ctx.route(
            f"**{AXE_URL}",
            lambda route: route.fulfill(path=str(AXE_JS), content_type="text/javascript"),
        )
        if cookies:
            ctx.add_cookies(cookies)
        return ctx

    popups: list[str] = []
    ctx = context(viewport=DESKTOP)
    page = ctx.new_page()
    page.on("popup", lambda p: popups.append(p.url))
    response = page.goto(url)
    _wait_ready(page)
    result["status"] = response.status if response else None
    result["final_url"] = page.url.removeprefix(base)
    result["facts"] = page.evaluate(_FACTS)
    result["axe_desktop"] = _axe(page)
    result["contrast_measured"] = _contrast_checks(page, result["axe_desktop"])
    page.screenshot(path=str(SHOTS / f"{name}-1280.png"), full_page=True)
    result["keyboard"] = _keyboard(page)
    if validate:
        result["html_validate"] = _html_validate(page.content())
    page.goto(url)
    _wait_ready(page)
    page.evaluate("() => { document.documentElement.style.fontSize = '200%'; }")
    page.wait_for_timeout(200)
    result["zoom200"] = {"clipped": page.evaluate(_CLIPPED), "overflow": page.evaluate(_OVERFLOW)}
    page.screenshot(path=str(SHOTS / f"{name}-texte200.png"), full_page=True)
    page.goto(url)
    _wait_ready(page)
    applied = page.evaluate(_SPACING)
    page.wait_for_timeout(200)
    result["text_spacing"] = {"applied": applied, "clipped": page.evaluate(_CLIPPED)}
    page.screenshot(path=str(SHOTS / f"{name}-espacements.png"), full_page=True)
    page.goto(url)
    _wait_ready(page)
    text = page.evaluate(_CSS_OFF)
    (SHOTS / f"{name}-sans-styles.txt").write_text(text, encoding="utf-8")
    page.screenshot(path=str(SHOTS / f"{name}-sans-styles.png"), full_page=True)
    result["popups"] = popups
    ctx.close()

    ctx = context(**PHONE)
    page = ctx.new_page()
    page.goto(url)
    _wait_ready(page)
    result["axe_phone"] = _axe(page)
    result["overflow_390"] = page.evaluate(_OVERFLOW)
    page.screenshot(path=str(SHOTS / f"{name}-390.png"), full_page=True)
    page.set_viewport_size({"width": 320, "height": 640})
    page.wait_for_timeout(300)
    result["overflow_320"] = page.evaluate(_OVERFLOW)
    page.screenshot(path=str(SHOTS / f"{name}-320.png"), full_page=True)
    page.set_viewport_size({"width": 844, "height": 390})
    page.wait_for_timeout(300)
    result["landscape"] = page.evaluate(_OVERFLOW)
    ctx.close()
    return result


_VALIDATE_CONFIG = {"extends": ["html-validate:standard"], "rules": {"void-style": "off"}}


def _html_validate(html: str) -> dict:
    """html-validate (its ``standard`` preset: what the HTML standard requires) on the DOM."""
    npx = shutil.which("npx")
    if not npx:
        return {"available": False}
    with tempfile.TemporaryDirectory(prefix="rgaa-html-") as tmp:
        path = Path(tmp) / "page.html"
        path.write_text(html, encoding="utf-8")
        config = Path(tmp) / ".htmlvalidate.json"
        config.write_text(json.dumps(_VALIDATE_CONFIG))
        run = subprocess.run(
            [
                npx,
                "--yes",
                HTML_VALIDATE,
                "--config",
                str(config),
                "--formatter",
                "json",
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp,
        )
    try:
        reports = json.loads(run.stdout or "[]")
    except json.JSONDecodeError:
        return {"available": False, "error": (run.stderr or run.stdout)[-300:]}
    messages = [
        f"{m['ruleId']}: {m['message']}"
        for report in reports
        for m in report.get("messages", [])
        if m.get("severity", 0) >= 2
    ]
    return {"available": True, "errors": messages[:30], "count": len(messages)}


# ---- the grid ------------------------------------------------------------------------------


def _violations(found: dict, rules: list[str]) -> list[str]:
    out = []
    for key in ("axe_desktop", "axe_phone"):
        for v in found.get(key, {}).get("violations", []):
            if v["id"] in rules and v["id"] not in out:
                out.append(v["id"])
    return out


def _incomplete(found: dict, rules: list[str]) -> list[str]:
    out = []
    for key in ("axe_desktop", "axe_phone"):
        for v in found.get(key, {}).get("incomplete", []):
            if v["id"] in rules and v["id"] not in out:
                out.append(v["id"])
    return out


def automatic(number: str, found: dict) -> tuple[str | None, str, str]:
    """(result or None, method, detail) of what the scripts alone can say for a criterion.

    ``None`` means the scripts found nothing wrong but do not cover the whole criterion.
    """
    f = found["facts"]
    kb = found["keyboard"]
    images = f["images"]
    informative = [i for i in images if not i["decorative"]]
    data_tables = [t for t in f["tables"] if not t["layout"]]
    fields = [x for x in f["fields"] if x["visible"] or x["type"] in ("checkbox", "radio")]
    no = "script (DOM) : "
    if number in ("2.1", "2.2"):
        return ("NA", no + "aucun cadre (iframe, frame)", "") if not f["frames"] else (None, "", "")
    if number.startswith("4."):
        if not f["media"]:
            return "NA", no + "aucun média (audio, video, object, embed, canvas)", ""
        return None, "", ""
    if number in ("1.1", "1.3", "1.6", "1.7"):
        if not informative:
            return "NA", no + "aucune image porteuse d’information", ""
    if number == "1.2" and not images:
        return "NA", no + "aucune image", ""
    if number in ("1.4", "1.5"):
        return None, "", ""
    if number.startswith("5."):
        if not f["tables"]:
            return "NA", no + "aucun tableau", ""
        if number in ("5.3", "5.8") and not any(t["layout"] for t in f["tables"]):
            return "NA", no + "aucun tableau de mise en forme", ""
        if number in ("5.1", "5.2") and not any(t["complex"] for t in data_tables):
            return (
                "NA",
                no + "aucun tableau de données complexe (en-têtes hors 1re ligne/colonne)",
                "",
            )
        if number in ("5.4", "5.5") and not any(t["caption"] for t in data_tables):
            return "NA", no + "aucun tableau de données ayant un titre", ""
        if number == "5.4":
            return "C", no + "chaque titre de tableau est un élément caption", ""
        if number in ("5.6", "5.7"):
            bad = [
                t["el"]
                for t in data_tables
                if t["th_col"] == 0
                or t["th_col_scoped"] < t["th_col"]
                or t["th_row_scoped"] < t["th_row"]
            ]
            if bad:
                return (
                    "NC",
                    no + "en-têtes th/scope",
                    "en-têtes manquants ou sans scope : " + ", ".join(bad),
                )
            return (
                "C",
                "axe + " + no + "th dans thead avec scope=col, th de ligne avec scope=row",
                "",
            )
    if number == "6.2":
        return (
            "C",
            "axe (link-name) + " + no + f"{len(f['links'])} liens, tous avec un intitulé",
            "",
        )
    if number == "8.1":
        if f["doctype"] == "html" and f["doctype_first"]:
            return "C", no + "<!doctype html> en tête du document", ""
        return "NC", no + "type de document", f"doctype {f['doctype']!r}"
    if number == "8.2":
        report = found.get("html_validate", {})
        if not report.get("available"):
            return None, "", ""
        if report["count"]:
            return (
                "NC",
                "html-validate (preset standard) sur le DOM généré",
                "; ".join(report["errors"][:5]),
            )
        return "C", "html-validate (preset standard) sur le DOM généré : aucune erreur", ""
    if number == "8.3":
        return (
            ("C", "axe (html-has-lang) : lang=" + f["lang"], "")
            if f["lang"]
            else ("NC", "axe", "lang absent")
        )
    if number == "8.4":
        if f["lang"] == "fr":
            return "C", "axe (html-lang-valid) + lecture : lang=fr, page en français", ""
        return "NC", "script", f"lang={f['lang']!r}"
    if number == "8.5":
        return (
            ("C", "axe (document-title) : « " + f["title"] + " »", "")
            if f["title"]
            else ("NC", "axe", "")
        )
    if number == "8.8":
        if not f["langs"]:
            return "NA", no + "aucun changement de langue", ""
        return "C", "axe (valid-lang) : " + ", ".join(sorted({x["lang"] for x in f["langs"]})), ""
    if number == "8.10":
        return (
            ("NA", no + "aucun attribut dir, aucun texte de droite à gauche", "")
            if not f["dir"]
            else (None, "", "")
        )
    if number == "9.2":
        lm = f["landmarks"]
        if lm["banner"] >= 1 and lm["main"] == 1 and lm["contentinfo"] >= 1:
            return "C", no + "header, nav, main (unique) et footer présents", ""
        return "NC", no + "structure", json.dumps(lm)
    if number == "10.1":
        if f["presentational"]:
            return (
                "NC",
                no + "attributs et balises de présentation",
                ", ".join(f["presentational"][:8]),
            )
        return "C", no + "aucun attribut ni balise de présentation, aucun attribut style (CSP)", ""
    if number == "10.2":
        if f["pseudo"]:
            return None, no + "contenus CSS à examiner : " + ", ".join(f["pseudo"][:6]), ""
        return "C", no + "aucun texte ni image d’arrière-plan porté par la CSS", ""
    if number == "10.4":
        clipped = found["zoom200"]["clipped"]
        if clipped:
            return "NC", "script : texte à 200 % (1280 px), textes rognés", ", ".join(clipped[:5])
        return "C", "script : texte à 200 % (1280 px), aucun texte rogné ; capture examinée", ""
    if number == "10.6":
        bad = [x["text"] for x in f["links"] if x["in_text"] and not x["underlined"]]
        if bad:
            return "NC", no + "liens dans le texte non soulignés", ", ".join(bad[:5])
        return (
            "C",
            "axe (link-in-text-block) + " + no + "les liens dans le texte sont soulignés",
            "",
        )
    if number == "10.7":
        if kb["no_ring"]:
            return (
                "NC",
                "clavier (script) : focus sans indicateur visible",
                ", ".join(kb["no_ring"][:5]),
            )
        if not kb["completed"]:
            return None, "", ""
        return (
            "C",
            f"clavier (script) : {kb['stops']} arrêts de tabulation, chacun avec un contour visible",
            "",
        )
    if number == "10.11":
        o = found["overflow_320"]
        if o["scroll"] > o["width"] + 1 or o["offenders"]:
            return (
                "NC",
                "script : largeur 320 px",
                ", ".join(o["offenders"][:5]) or f"scrollWidth {o['scroll']}",
            )
        return (
            "C",
            "script : largeur 320 px sans défilement horizontal (hors tableaux et carte défilants) ; capture examinée",
            "",
        )
    if number == "10.12":
        clipped = found["text_spacing"]["clipped"]
        if clipped:
            return "NC", "script : espacements WCAG 1.4.12", ", ".join(clipped[:5])
        return "C", "script : espacements WCAG 1.4.12 appliqués, aucun texte rogné", ""
    if number == "11.13":
        personal = [
            x
            for x in fields
            if x["type"] in ("email", "tel", "password") or x["name"] in ("name", "email", "phone")
        ]
        if not fields:
            return "NA", no + "aucun champ de formulaire", ""
        missing = [x["el"] for x in personal if not x["autocomplete"]]
        if missing:
            return "NC", no + "autocomplete", "champs sans autocomplete : " + ", ".join(missing)
        if not personal:
            return "NA", no + "aucun champ sur l’utilisateur lui-même", ""
        return (
            "C",
            "axe (autocomplete-valid) + "
            + no
            + "autocomplete sur "
            + ", ".join(f"{x['name']}={x['autocomplete']}" for x in personal),
            "",
        )
    if number.startswith("11.") and number != "11.9" and not fields:
        return "NA", no + "aucun champ de formulaire", ""
    if number == "11.8" and not f["selects"]:
        return "NA", no + "aucune liste de choix (select)", ""
    if number == "11.9" and not f["buttons"]:
        return "NA", no + "aucun bouton", ""
    if number == "11.1":
        unlabeled = [x["el"] for x in fields if not (x["label"] or x["aria"])]
        if unlabeled:
            return "NC", "script", "champs sans étiquette : " + ", ".join(unlabeled)
        hidden = [x["el"] for x in fields if not x["visible_label"] and x["type"] != "checkbox"]
        if hidden:
            return (
                None,
                "axe (label) : étiquettes présentes ; étiquettes non visibles : "
                + ", ".join(hidden),
                "",
            )
        return (
            "C",
            "axe (label) + " + no + f"{len(fields)} champ(s), chacun avec une étiquette visible",
            "",
        )
    if number == "12.6":
        lm = f["landmarks"]
        if lm["banner"] and lm["nav"] and lm["main"] and lm["contentinfo"]:
            return "C", no + "zones header, nav, main et footer", ""
        if lm["banner"] and lm["main"] and lm["contentinfo"]:
            return "C", no + "zones header, main et footer (pas de menu hors connexion)", ""
        return "NC", no + "zones", json.dumps(lm)
    if number == "12.7":
        if kb["first"] and "skip-link" in kb["first"] and kb["skip_link_works"]:
            return (
                "C",
                "clavier (script) : le premier arrêt est « Aller au contenu », qui mène au contenu principal",
                "",
            )
        return (
            "NC",
            "clavier (script)",
            f"premier arrêt {kb['first']}, lien d’évitement {'actif' if kb['skip_link_works'] else 'inopérant'}",
        )
    if number == "12.8":
        if f["positive_tabindex"]:
            return "NC", no + "tabindex positif", ", ".join(f["positive_tabindex"])
        return (
            None,
            "clavier (script) : pas de tabindex positif ; retours en arrière : "
            + (", ".join(kb["backward_jumps"][:4]) or "aucun"),
            "",
        )
    if number == "12.9":
        if kb["trapped"]:
            return "NC", "clavier (script)", "le focus reste bloqué"
        if kb["completed"]:
            return (
                "C",
                f"clavier (script) : Tab parcourt les {kb['stops']} arrêts et quitte la page",
                "",
            )
        return None, "", ""
    if number == "13.2":
        if found["popups"]:
            return "NC", "script", "fenêtres ouvertes au chargement : " + ", ".join(found["popups"])
        return (
            "C",
            "script : aucune fenêtre ouverte au chargement"
            + (
                ""
                if not any(x["blank"] for x in f["links"])
                else " ; liens target=_blank à examiner"
            ),
            "",
        )
    if number == "13.3":
        if not f["documents"]:
            return "NA", no + "aucun document bureautique en téléchargement", ""
        return None, "", ""
    if number == "13.4" and not f["documents"]:
        return "NA", no + "aucun document bureautique en téléchargement", ""
    if number == "13.9":
        o = found["landscape"]
        if o["scroll"] > o["width"] + 1 or o["offenders"]:
            return "NC", "script : téléphone en paysage (844 × 390)", ", ".join(o["offenders"][:5])
        return (
            "C",
            "axe (css-orientation-lock) + script : consultable en portrait (390 × 844) et en paysage (844 × 390)",
            "",
        )
    return None, "", ""


def _manual(meta: dict) -> dict[tuple[str, str], list[dict]]:
    """(criterion, page) -> the human verifications of audit.toml that cover it."""
    pages = [p["id"] for p in meta.get("pages", [])]
    out: dict[tuple[str, str], list[dict]] = {}
    for entry in meta.get("verification", []):
        targets = pages if entry.get("pages", ["*"]) == ["*"] else entry["pages"]
        for number in entry["criteres"]:
            for page in targets:
                out.setdefault((number, page), []).append(entry)
    return out


def build_grid(criteria: list[dict], meta: dict, found: dict[str, dict]) -> list[dict]:
    manual = _manual(meta)
    rows = []
    for criterion in criteria:
        number = criterion["critere"]
        rules = criterion["regles_axe"].split()
        for page in meta["pages"]:
            pid = page["id"]
            page_found = found[pid]
            violated = _violations(page_found, rules)
            auto, auto_method, auto_detail = automatic(number, page_found)
            human = manual.get((number, pid), [])
            methods = []
            if rules:
                methods.append(
                    "axe ("
                    + " ".join(rules)
                    + ")"
                    + (" : violations " + " ".join(violated) if violated else " : sans violation")
                )
            if auto_method:
                methods.append(auto_method)
            methods += [h["methode"] for h in human]
            details = [auto_detail] if auto_detail else []
            details += [h.get("detail", "") for h in human if h.get("detail")]
            incomplete = _incomplete(page_found, rules)
            if violated:
                result = "NC"
                details.insert(0, "axe-core : " + ", ".join(violated))
            elif auto == "NC" or any(h["resultat"] == "NC" for h in human):
                result = "NC"
            elif auto == "NA":
                result = "NA"
            elif human:
                results = {h["resultat"] for h in human}
                result = "NT" if "NT" in results else ("NA" if results == {"NA"} else "C")
            elif auto == "C" and not incomplete:
                result = "C"
            else:
                result = "NT"
                if incomplete:
                    details.append("axe-core à vérifier à la main : " + ", ".join(incomplete))
                details.append(
                    "non vérifié : "
                    + (
                        "les vérifications automatiques passent mais ne couvrent pas tout le critère"
                        if rules or auto_method
                        else "aucune vérification faite"
                    )
                )
            rows.append(
                {
                    "critere": number,
                    "thematique": criterion["thematique"],
                    "page": pid,
                    "resultat": result,
                    "methode": " ; ".join(m for m in methods if m),
                    "detail": " ; ".join(d for d in details if d),
                }
            )
    return rows


# ---- the run -------------------------------------------------------------------------------


def _prepare(tmp: Path):
    """A migrated app with the demo data; the ids the pages' URLs need."""
    from sqlalchemy import select

    from bench.common import bench_app
    from webapp.extensions import db
    from webapp.live.monitor import get_monitor
    from webapp.models import Member
    from webapp.models import SupportRequest
    from webapp.services import accounts
    from webapp.services import demo
    from webapp.services import orders

    app = bench_app(tmp, DEMO_INCIDENTS=True, RATELIMIT_ENABLED=False)
    with app.app_context():
        db.create_all()  # models whose migration is still being written (a throw-away base)
        demo.load()
        member = db.session.execute(select(Member).where(Member.slug == "sarralbe")).scalar_one()
        host = next(h for h in get_monitor(app).source.hosts() if member.group_names[0] in h.groups)
        request = (
            db.session.execute(
                select(SupportRequest)
                .where(SupportRequest.member_id == member.id)
                .order_by(SupportRequest.id)
            )
            .scalars()
            .first()
        )
        buyer = accounts.find_user("admin@sarralbe.demo.example.org")
        try:
            orders.place(member, buyer, pools=2, key="rgaa-audit", note="Audit RGAA")
        except Exception as exc:  # noqa: BLE001 - the orders page is audited either way
            print(f"[rgaa] pas de commande de démonstration : {exc}", file=sys.stderr)
        values = {"hostid": host.hostid, "request_id": request.id if request else 0}
    return app, values


ACCOUNTS = {
    "anonyme": None,
    "lecteur": "elu@sarralbe.demo.example.org",
    "administrateur-membre": "admin@sarralbe.demo.example.org",
    "administrateur-syndicat": "admin@demo.example.org",
}


def _cookies(browser, base: str, email: str | None) -> list:
    if email is None:
        return []
    from webapp.services.demo import DEMO_PASSWORD

    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(base + "/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(lambda url: "/connexion" not in url)
    cookies = ctx.cookies()
    ctx.close()
    return cookies


def run(only: list[str] | None, validate: bool) -> None:
    import threading

    from werkzeug.serving import make_server

    from bench.browser import chromium

    meta = tomllib.loads((DOCS / "audit.toml").read_text(encoding="utf-8"))
    previous = {}
    if (DOCS / "automatique.json").exists():
        previous = json.loads((DOCS / "automatique.json").read_text(encoding="utf-8"))
    found = dict(previous.get("pages", {}))
    tmp = Path(tempfile.mkdtemp(prefix="vigie-rgaa-"))
    try:
        app, values = _prepare(tmp)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.daemon = True
        thread.start()
        base = f"http://127.0.0.1:{server.server_port}"
        with chromium() as browser:
            version = browser.version
            cookies = {}
            for page_meta in meta["pages"]:
                if only and page_meta["id"] not in only:
                    continue
                role = page_meta["compte"]
                if role not in cookies:
                    cookies[role] = _cookies(browser, base, ACCOUNTS[role])
                page_meta = dict(page_meta, url=page_meta["chemin"].format(**values))
                print(f"[rgaa] {page_meta['id']} ({page_meta['url']})", flush=True)
                found[page_meta["id"]] = audit_page(
                    browser, base, page_meta, cookies[role], validate
                )
        server.shutdown()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    missing = [p["id"] for p in meta["pages"] if p["id"] not in found]
    if missing:
        print(
            f"[rgaa] pages jamais auditées : {', '.join(missing)} (lancer sans --pages) ; "
            "grille.csv n’est pas écrite",
            file=sys.stderr,
        )
    axe_version = json.loads((ROOT / "node_modules" / "axe-core" / "package.json").read_text())[
        "version"
    ]
    from importlib.metadata import version as package_version

    environment = {
        "date": datetime.now(UTC).astimezone().strftime("%d/%m/%Y"),
        "navigateurs": [
            f"Chromium {version} (Debian 12), sans interface, piloté par Playwright "
            f"{package_version('playwright')} : 1280 × 800, téléphone 390 × 844 (tactile), "
            "320 × 640 et 844 × 390"
        ],
        "outils": [
            f"axe-core {axe_version} (toutes les règles ; correspondances RGAA d’axe-core)",
            f"{HTML_VALIDATE} (preset « standard ») sur le DOM généré",
            "scripts/rgaa_audit.py : parcours au clavier, texte à 200 %, 320 px, espacements "
            "du texte, paysage, styles désactivés, captures",
        ],
    }
    (DOCS / "automatique.json").write_text(
        json.dumps({"environnement": environment, "pages": found}, ensure_ascii=False, indent=1)
        + "\n",
        encoding="utf-8",
    )
    if not missing:
        regrid()


def _summary(rows: list[dict]) -> dict:
    from webapp.services.rgaa import compliance_status
    from webapp.services.rgaa import criterion_result

    by_criterion: dict[str, list[str]] = {}
    for row in rows:
        by_criterion.setdefault(row["critere"], []).append(row["resultat"])
    results = {k: criterion_result(v) for k, v in by_criterion.items()}
    counts = {r: sum(1 for v in results.values() if v == r) for r in ("C", "NC", "NA", "NT")}
    applicable = counts["C"] + counts["NC"] + counts["NT"]
    rate = round(100 * counts["C"] / applicable, 1) if applicable else 0
    return {
        "criteres": counts,
        "taux": rate,
        "statut": compliance_status(rate),
        "non_conformes": [k for k, v in results.items() if v == "NC"],
        "non_verifies": [k for k, v in results.items() if v == "NT"],
    }


def regrid() -> None:
    """Rebuild grille.csv from automatique.json and audit.toml (after editing the latter)."""
    meta = tomllib.loads((DOCS / "audit.toml").read_text(encoding="utf-8"))
    with (DOCS / "criteres.csv").open(encoding="utf-8", newline="") as handle:
        criteria = list(csv.DictReader(handle, delimiter=";"))
    found = json.loads((DOCS / "automatique.json").read_text(encoding="utf-8"))["pages"]
    rows = build_grid(criteria, meta, found)
    with (DOCS / "grille.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    print(json.dumps(_summary(rows), ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    crit = sub.add_parser("criteria", help="write docs/rgaa/criteres.csv")
    crit.add_argument("--from", dest="source", type=Path, required=True)
    audit = sub.add_parser("run", help="audit the pages, write automatique.json and grille.csv")
    audit.add_argument("--pages", default="", help="only these page ids (comma-separated)")
    audit.add_argument("--no-validate", action="store_true", help="skip html-validate")
    sub.add_parser("grid", help="rebuild grille.csv from automatique.json and audit.toml")
    args = parser.parse_args()
    if args.command == "criteria":
        print(f"{write_criteria(args.source)} critères écrits dans {DOCS / 'criteres.csv'}")
    elif args.command == "run":
        only = [p for p in args.pages.split(",") if p] or None
        run(only, validate=not args.no_validate)
    else:
        regrid()


if __name__ == "__main__":
    main()
